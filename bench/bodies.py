#!/usr/bin/env python3
"""Request bodies for bench/load, bench/soak and bench/overload (standard
library only, fixed seeds). Usage: bench/bodies.py DIR; writes DIR/*.json."""
import json
import os
import random
import sys


def matrix(rng, rows, cols, scale=1.0):
    return [[rng.gauss(0.0, scale) for _ in range(cols)] for _ in range(rows)]


def gradcheck(rng, dims, m, check=None):
    """A /gradcheck of the service's own back-propagation (no gradients
    given) on a ReLU network with a sigmoid output, He-scaled weights."""
    params = {}
    for l in range(1, len(dims)):
        params["W%d" % l] = matrix(rng, dims[l], dims[l - 1],
                                   (2.0 / dims[l - 1]) ** 0.5)
        params["b%d" % l] = [[0.01] for _ in range(dims[l])]
    body = {
        "model": {"layer_dims": dims,
                  "activations": ["relu"] * (len(dims) - 2) + ["sigmoid"],
                  "loss": "binary_cross_entropy"},
        "parameters": params,
        "X": matrix(rng, m, dims[0]),
        "Y": [[float(rng.random() < 0.5) for _ in range(dims[-1])]
              for _ in range(m)],
    }
    if check:
        body["check"] = check
    return body


def main():
    out = sys.argv[1]
    rng = random.Random(0)
    bodies = {
        # 8x16 like bench/normalize; one fixed session: the store stays small
        "normalize_small": {"op": "fit_transform", "session": "bench",
                            "data": matrix(rng, 8, 16, 3.0)},
        "init_small": {"layer_dims": [20, 10, 1], "seed": 1},
        "gradcheck_small": gradcheck(rng, [4, 3, 1], 8),
        # [256, 128, 128, 10]: 50,698 parameters, every one checked
        # (101,396 forward passes over 32 samples): about 2 s of one core
        "gradcheck_heavy": gradcheck(rng, [256, 128, 128, 10], 32),
        "bad_json": None,
    }
    for name, body in bodies.items():
        with open(os.path.join(out, name + ".json"), "w") as f:
            if body is None:
                f.write('{"op": "fit", "data": [[1, 2], [3')
            else:
                json.dump(body, f)


if __name__ == "__main__":
    main()
