#!/usr/bin/python3
"""Checks a binary answer against the JSON answer of the same request, with
numpy's own reader (tests/handlers/test_npz.c runs it).

usage: check_npz.py ANSWER.json ANSWER.npz MEMBER...   (npz)
       check_npz.py ANSWER.json ANSWER.npy             (npy: the "data" array)

npz: np.load lists exactly the MEMBERs plus response.json; each member is
<f8, C order, and holds the bits of the JSON array at the key of that name
(JSON null = NaN); response.json equals the JSON answer without those keys
(elapsed_ms aside: a timing). Exit status 0 when all holds, else 1 with the
reason on stderr."""
import io
import json
import sys

import numpy as np


def fail(msg):
    sys.stderr.write("check_npz: %s\n" % msg)
    sys.exit(1)


def as_array(value):
    """The JSON value as float64 (null -> NaN), or None if not numeric."""
    def num(x):
        if x is None:
            return np.nan
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise ValueError
        return float(x)
    try:
        if value and all(isinstance(r, list) for r in value):
            return np.array([[num(x) for x in r] for r in value], dtype="<f8")
        return np.array([num(x) for x in value], dtype="<f8")
    except (ValueError, TypeError):
        return None


def same_bits(name, got, want):
    if got.dtype != np.dtype("<f8"):
        fail("%s has dtype %s, not <f8" % (name, got.dtype))
    if got.shape != want.shape:
        fail("%s has shape %s, JSON %s" % (name, got.shape, want.shape))
    if not got.flags["C_CONTIGUOUS"]:
        fail("%s is not in C order" % name)
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    if (nan_g != nan_w).any():
        fail("%s: NaN (null) cells differ" % name)
    if (got[~nan_g].view(np.uint64) != want[~nan_w].view(np.uint64)).any():
        fail("%s: values differ from the JSON answer" % name)


def strip(obj, names, found):
    """obj without the numeric arrays at keys in names (checked later)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in names and isinstance(v, list) and as_array(v) is not None:
                if k in found:
                    fail("key %s appears twice in the JSON answer" % k)
                found[k] = as_array(v)
                continue
            if k == "elapsed_ms":
                continue
            out[k] = strip(v, names, found)
        return out
    if isinstance(obj, list):
        return [strip(v, names, found) for v in obj]
    return obj


def main():
    with open(sys.argv[1], "rb") as f:
        answer = json.load(f)
    path = sys.argv[2]
    if path.endswith(".npy"):
        got = np.load(path, allow_pickle=False)
        same_bits("data", got, as_array(answer["data"]))
        return
    names = sys.argv[3:]
    z = np.load(path, allow_pickle=False)
    if sorted(z.files) != sorted(names + ["response.json"]):
        fail("members %s, want %s + response.json" % (z.files, names))
    found = {}
    rest = strip(answer, set(names), found)
    for n in names:
        if n not in found:
            fail("no numeric array %s in the JSON answer" % n)
        same_bits(n, z[n], found[n])
    # np.load returns a member that is not .npy as its bytes
    got_rest = json.load(io.BytesIO(z["response.json"]))
    got_rest = strip(got_rest, set(), {})
    if got_rest != rest:
        fail("response.json differs:\n%s\n%s" % (got_rest, rest))


if __name__ == "__main__":
    main()
