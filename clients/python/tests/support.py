"""Shared by the tests: clients for the daemons run_tests.py started, and
probes for contract v1.1 features this daemon may not have yet."""
import functools
import io
import os
import unittest
import urllib.error
import urllib.request
import zipfile

import numpy as np

import gradguard


def client(**kw):
    return gradguard.Client(os.environ["GG_URL"], timeout=60, **kw)


def auth_url():
    return os.environ["GG_AUTH_URL"], os.environ["GG_KEY"]


def _post(path, body, ctype):
    req = urllib.request.Request(os.environ["GG_URL"] + path, data=body,
                                 method="POST", headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@functools.lru_cache(maxsize=None)
def server_has(feature):
    """Whether the daemon speaks a contract v1.1 feature: "npz" (an .npz
    request body), "ttl" (a ttl on /normalize writes), "stateless"
    (fit_transform without a session stores nothing)."""
    if feature == "npz":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            a = io.BytesIO()
            np.lib.format.write_array(a, np.array([[1.0], [2.0]]))
            z.writestr("data.npy", a.getvalue())
        status, _ = _post("/normalize?op=fit_transform", buf.getvalue(),
                          "application/x-npz")
        return status == 200
    if feature == "ttl":
        status, _ = _post("/normalize", b'{"op":"fit","session":"probe-ttl",'
                          b'"data":[[1],[2]],"ttl":60}', "application/json")
        return status == 200
    if feature == "stateless":
        status, body = _post("/normalize", b'{"op":"fit_transform",'
                             b'"data":[[1],[2]]}', "application/json")
        return status == 200 and b'"session":null' in body
    raise ValueError(feature)


def requires(feature):
    """Skips a test when the daemon lacks a v1.1 feature (GG_REQUIRE_V11=1:
    runs it anyway, so that a merged server must pass it)."""
    def wrap(fn):
        @functools.wraps(fn)
        def run(self, *a, **kw):
            if os.environ.get("GG_REQUIRE_V11") != "1" and not server_has(feature):
                raise unittest.SkipTest("the daemon lacks contract v1.1 %r" % feature)
            return fn(self, *a, **kw)
        return run
    return wrap
