#!/usr/bin/python3
"""Checks that the integration tests saw every response shape, each valid.

  check_shapes.py DIR [DOC]

DIR holds the recordings of tests/lib/harness.c (GG_RECORD_DIR): one JSON
line per response, with "request" (the JSON body sent) when there was one.
Each 200 answer of POST /init, /normalize and /gradcheck is classified by
its request (init method, with or without diagnose; normalize op, missing:
ignore, report; gradcheck source x check mode, return_gradients). Every
shape in SHAPES must be seen at least once with a body that validates
against the OpenAPI document (validate_openapi.validate_response). Prints
each missing or invalid shape, then "N passed, N failed"; exits 1 on any
failure. tests/http/test_shapes.c makes one request per shape.
"""
import glob
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import validate_openapi as vo  # noqa: E402

INIT_METHODS = ("zeros", "random", "he", "xavier", "glorot", "lecun", "orthogonal")
NORMALIZE_OPS = ("fit", "partial_fit", "transform", "fit_transform",
                 "inverse_transform")
CHECK_MODES = ("all", "sample", "directions")

SHAPES = (
    [("/init", "method=" + m) for m in INIT_METHODS]
    + [("/init", "diagnose")]
    + [("/normalize", "op=" + op) for op in NORMALIZE_OPS]
    + [("/normalize", "missing=ignore"), ("/normalize", "report")]
    + [("/gradcheck", "source=%s check=%s" % (s, c))
       for s in ("model", "oracle") for c in CHECK_MODES]
    + [("/gradcheck", "source=vector check=all"),
       ("/gradcheck", "return_gradients")]
)


def check_mode(check):
    if isinstance(check, dict):
        for k in ("sample", "directions"):
            if k in check:
                return k
    return "all"


def shapes_of(path, req):
    """The shapes one request of path makes (a list of labels)."""
    if not isinstance(req, dict):
        return []
    if path == "/init":
        out = ["method=%s" % req.get("method", "he")]
        if "diagnose" in req:
            out.append("diagnose")
        return out
    if path == "/normalize":
        out = ["op=%s" % req.get("op")]
        if req.get("missing") == "ignore":
            out.append("missing=ignore")
        if req.get("report") is True:
            out.append("report")
        return out
    if path == "/gradcheck":
        source = next((s for s in ("model", "vector", "oracle") if s in req), None)
        if source is None:
            return []
        out = ["source=%s check=%s" % (source, check_mode(req.get("check")))]
        if req.get("return_gradients") is True:
            out.append("return_gradients")
        return out
    return []


def classify(doc, records):
    """{(path, shape): [valid count, invalid errors]} over 200 answers."""
    seen = {}
    for rec in records:
        path = rec.get("path", "").split("?", 1)[0]
        if rec.get("method") != "POST" or rec.get("status") != 200:
            continue
        if "request" not in rec or "body" not in rec:
            continue
        if not (rec.get("content_type") or "").startswith("application/json"):
            continue
        try:
            req = json.loads(rec["request"])
        except ValueError:
            continue
        for shape in shapes_of(path, req):
            errs = vo.validate_response(doc, "POST", path, 200, rec["body"])
            entry = seen.setdefault((path, shape), [0, []])
            if errs:
                entry[1].extend(errs[:3])
            else:
                entry[0] += 1
    return seen


def self_test(doc):
    """A classification that cannot see a shape must fail."""
    good = {"method": "POST", "path": "/init", "status": 200,
            "content_type": "application/json",
            "request": '{"layer_dims": [1, 1], "method": "zeros"}',
            "body": '{"seed": 1, "rng": "numpy", "method": "zeros", '
                    '"distribution": "normal", '
                    '"parameters": {"W1": [[0.0]], "b1": [[0.0]]}, '
                    '"layers": []}'}
    bad = dict(good, body='{"seed": 1}')
    seen = classify(doc, [good, bad])
    ok = seen.get(("/init", "method=zeros"), [0, []])[0] == 1 and \
        len(seen[("/init", "method=zeros")][1]) > 0
    if not ok:
        print("FAIL: check_shapes self-test")
    return ok


def main(argv):
    doc, status = vo.load_for(argv, __doc__, self_test)
    if doc is None:
        return status
    records = []
    for name in sorted(glob.glob(os.path.join(argv[1], "*.jsonl"))):
        with open(name, "rb") as f:
            for raw in f:
                try:
                    records.append(json.loads(raw.decode("utf-8", "replace")))
                except ValueError:
                    pass
    seen = classify(doc, records)
    passed = failed = 0
    for key in SHAPES:
        ok, errs = seen.get(key, [0, []])
        if errs:
            print("FAIL: %s %s: a response does not validate: %s"
                  % (key[0], key[1], errs[0]))
        if not ok:
            print("FAIL: %s %s: no valid 200 response recorded" % key)
        if ok and not errs:
            passed += 1
        else:
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
