"""bench/gradcheck driver: gradguard over HTTP vs torch.autograd.gradcheck vs
the straightforward numpy loop, on the same network, data and epsilon; with
a second URL (another build) both daemons side by side.
usage: gradcheck_compare.py GRADGUARD_URL TMPDIR [BASE_URL]
QUICK=1 in the environment skips torch and the numpy loop."""
import json
import os
import sys
import time
import urllib.request

import numpy as np
import torch

URL, TMP = sys.argv[1], sys.argv[2]
BASE = sys.argv[3] if len(sys.argv) > 3 else None
QUICK = os.environ.get("QUICK") == "1"
EPS = 1e-7


def network(dims, m, seed=0):
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(dims)):
        params["W%d" % l] = rng.normal(0, np.sqrt(1.0 / dims[l - 1]), (dims[l], dims[l - 1]))
        params["b%d" % l] = rng.normal(0, 0.1, (dims[l], 1))
    x = rng.normal(0, 1, (dims[0], m))
    y = np.eye(dims[-1])[:, rng.integers(0, dims[-1], m)]
    return params, x, y


def request(dims, params, x, y):
    acts = ["tanh"] * (len(dims) - 2) + ["softmax"]
    return {"model": {"layer_dims": dims, "activations": acts,
                      "loss": "categorical_cross_entropy"},
            "parameters": {k: v.tolist() for k, v in params.items()},
            "X": x.T.tolist(), "Y": y.T.tolist(), "epsilon": EPS}


def post(body, runs, url=None):
    data = json.dumps(body).encode()
    ts, out = [], None
    for _ in range(runs):
        req = urllib.request.Request((url or URL) + "/gradcheck", data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=600) as r:
            out = json.loads(r.read())
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2], out


def forward_np(params, x, L):
    a = x
    for l in range(1, L + 1):
        z = params["W%d" % l] @ a + params["b%d" % l]
        if l < L:
            a = np.tanh(z)
        else:
            e = np.exp(z - z.max(axis=0, keepdims=True))
            a = e / e.sum(axis=0, keepdims=True)
    return a


def numpy_loop(params, x, y, g, keys, shapes, eps=EPS):
    """The course's loop: theta +- eps, one full forward pass each."""
    L = len(keys) // 2
    theta = np.concatenate([params[k].ravel() for k in keys])
    m = x.shape[1]

    def cost(t):
        p, i = {}, 0
        for k, s in zip(keys, shapes):
            n = int(np.prod(s))
            p[k] = t[i:i + n].reshape(s)
            i += n
        return -np.sum(y * np.log(forward_np(p, x, L))) / m

    approx = np.empty_like(theta)
    for i in range(theta.size):
        tp = theta.copy(); tp[i] += eps
        tm = theta.copy(); tm[i] -= eps
        approx[i] = (cost(tp) - cost(tm)) / (2 * eps)
    return np.linalg.norm(g - approx) / (np.linalg.norm(g) + np.linalg.norm(approx))


def torch_check(params, x, y, keys, shapes):
    L = len(keys) // 2
    theta = torch.tensor(np.concatenate([params[k].ravel() for k in keys]),
                         dtype=torch.float64, requires_grad=True)
    xt, yt = torch.tensor(x), torch.tensor(y)
    m = x.shape[1]

    def cost(t):
        i, a = 0, xt
        p = {}
        for k, s in zip(keys, shapes):
            n = int(np.prod(s))
            p[k] = t[i:i + n].reshape(s)
            i += n
        for l in range(1, L + 1):
            z = p["W%d" % l] @ a + p["b%d" % l]
            a = torch.tanh(z) if l < L else torch.softmax(z, dim=0)
        return -(yt * torch.log(a)).sum() / m

    t0 = time.perf_counter()
    ok = torch.autograd.gradcheck(cost, (theta,), eps=EPS, atol=1e-5, rtol=1e-3,
                                  raise_exception=False)
    return time.perf_counter() - t0, ok


def side_by_side(dims, runs=5):
    """Minimum of runs requests on each daemon, alternating, same body."""
    params, x, y = network(dims, 16)
    data = request(dims, params, x, y)
    tn, tb = [], []
    for _ in range(runs):
        tn.append(post(data, 1)[0])
        tb.append(post(data, 1, BASE)[0])
    print("dims=%s this build min_s=%.3f base build min_s=%.3f speed-up=%.2fx"
          % (dims, min(tn), min(tb), min(tb) / min(tn)))
    return min(tn)


if BASE:
    print("## this build vs the base build (over HTTP, JSON both ways, minimum of 5 runs, 3 for the deep net)")
    side_by_side([784, 64, 10])
    side_by_side([784, 64, 64, 64, 10], 3)
if QUICK:
    sys.exit(0)
dims = [784, 64, 10]
params, x, y = network(dims, 16)
keys = [k for l in range(1, len(dims)) for k in ("W%d" % l, "b%d" % l)]
shapes = [params[k].shape for k in keys]
body = request(dims, params, x, y)
body["return_gradients"] = True
t_gg, out = post(body, 3)
g = np.concatenate([np.asarray(out["gradients"]["d" + k]).ravel() for k in keys])
print("network %s, m=16, %d parameters, epsilon %g" % (dims, out["n_parameters"], EPS))
print("gradguard over HTTP: median_s=%.3f relative_error=%.3e verdict=%s evaluations=%d"
      % (t_gg, out["relative_error"], out["verdict"], out["evaluations"]))
t_torch, ok = torch_check(params, x, y, keys, shapes)
print("torch.autograd.gradcheck (float64, in-process): s=%.3f passed=%s" % (t_torch, ok))
t0 = time.perf_counter()
rel_np = numpy_loop(params, x, y, g, keys, shapes)
t_np = time.perf_counter() - t0
print("numpy loop (in-process): s=%.3f relative_error=%.3e" % (t_np, rel_np))
print("speed-up vs torch.autograd.gradcheck: %.1fx; vs numpy loop: %.1fx"
      % (t_torch / t_gg, t_np / t_gg))
print("relative error agreement with the numpy loop: %.2e (relative)"
      % (abs(out["relative_error"] - rel_np) / rel_np))
# At epsilon 1e-7 both errors sit at the rounding-noise floor (|J|u/eps), where
# any two summation orders differ; at 1e-3 the O(eps^2) truncation term
# dominates and the two must agree closely.
body["epsilon"] = 1e-3
_, out5 = post(body, 1)
rel_np5 = numpy_loop(params, x, y, g, keys, shapes, eps=1e-3)
print("epsilon 1e-3: gradguard relative_error=%.6e numpy loop=%.6e agreement=%.2e (relative)"
      % (out5["relative_error"], rel_np5, abs(out5["relative_error"] - rel_np5) / rel_np5))
print("## growth (gradguard over HTTP, median of 3)")
for dims in ([784, 16, 10], [784, 64, 10], [784, 256, 10],
             [784, 64, 64, 10], [784, 64, 64, 64, 64, 10]):
    params, x, y = network(dims, 16)
    t, out = post(request(dims, params, x, y), 3)
    print("dims=%s parameters=%d s=%.3f us/parameter=%.2f"
          % (dims, out["n_parameters"], t, 1e6 * t / out["n_parameters"]))
