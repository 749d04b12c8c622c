"""The service people would otherwise write: FastAPI + numpy, the idiomatic way.

Benchmarks only (bench/), never part of gradguard. Implements the same three
endpoints for the requests the benchmarks send:
  POST /normalize  op=fit_transform (in-memory sessions, samples in rows)
  POST /init       he / xavier / random with np.random.seed + randn per layer
  POST /gradcheck  model source: the course's loop over theta with a numpy
                   forward pass per +-epsilon (the straightforward version)
Run: /usr/bin/python3 -m uvicorn --app-dir bench/reference fastapi_service:app \
     --host 127.0.0.1 --port 8090 --log-level warning
"""
import time
import uuid

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()
SESSIONS = {}


class NormalizeReq(BaseModel):
    op: str
    data: list
    session: str | None = None


@app.post("/normalize")
def normalize(req: NormalizeReq):
    x = np.asarray(req.data, dtype=np.float64)
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    scale = np.sqrt(var)
    scale[scale == 0] = 1.0
    sid = req.session or uuid.uuid4().hex
    SESSIONS[sid] = (x.shape[0], mean, var)
    out = (x - mean) / scale
    return {"session": sid, "n_samples_seen": x.shape[0],
            "n_features": x.shape[1], "mean": mean.tolist(),
            "var": var.tolist(), "scale": scale.tolist(),
            "data": out.tolist(), "warnings": []}


class InitReq(BaseModel):
    layer_dims: list[int]
    method: str = "he"
    seed: int = 0
    scale: float = 0.01


@app.post("/init")
def init(req: InitReq):
    np.random.seed(req.seed)
    params = {}
    for l in range(1, len(req.layer_dims)):
        n, fan_in = req.layer_dims[l], req.layer_dims[l - 1]
        if req.method == "he":
            std = np.sqrt(2.0 / fan_in)
        elif req.method == "xavier":
            std = np.sqrt(1.0 / fan_in)
        else:
            std = req.scale
        params["W%d" % l] = (np.random.randn(n, fan_in) * std).tolist()
        params["b%d" % l] = np.zeros((n, 1)).tolist()
    return {"seed": req.seed, "rng": "numpy", "parameters": params}


class GradReq(BaseModel):
    model: dict
    parameters: dict
    X: list
    Y: list
    epsilon: float = 1e-7


def _act(name, z):
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "softmax":
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    return z


def _cost(params, acts, x, y):
    a = x
    for l, act in enumerate(acts, start=1):
        a = _act(act, params["W%d" % l] @ a + params["b%d" % l])
    m = x.shape[1]
    return float(-np.sum(y * np.log(a)) / m)


def _backprop(params, acts, x, y):
    caches, a = [x], x
    for l, act in enumerate(acts, start=1):
        a = _act(act, params["W%d" % l] @ a + params["b%d" % l])
        caches.append(a)
    m, grads = x.shape[1], {}
    dz = caches[-1] - y
    for l in range(len(acts), 0, -1):
        grads["dW%d" % l] = dz @ caches[l - 1].T / m
        grads["db%d" % l] = dz.sum(axis=1, keepdims=True) / m
        if l > 1:
            da = params["W%d" % l].T @ dz
            dz = da * (1 - caches[l - 1] ** 2)  # tanh hidden layers
    return grads


@app.post("/gradcheck")
def gradcheck(req: GradReq):
    t0 = time.perf_counter()
    acts = req.model["activations"]
    L = len(acts)
    params = {k: np.asarray(v, dtype=np.float64) for k, v in req.parameters.items()}
    for l in range(1, L + 1):
        params["b%d" % l] = params["b%d" % l].reshape(-1, 1)
    x = np.asarray(req.X, dtype=np.float64).T
    y = np.asarray(req.Y, dtype=np.float64).T
    grads = _backprop(params, acts, x, y)
    keys = [k for l in range(1, L + 1) for k in ("W%d" % l, "b%d" % l)]
    theta = np.concatenate([params[k].ravel() for k in keys])
    g = np.concatenate([grads["d" + k].ravel() for k in keys])
    shapes = [params[k].shape for k in keys]

    def unpack(t):
        out, i = {}, 0
        for k, s in zip(keys, shapes):
            n = int(np.prod(s))
            out[k] = t[i:i + n].reshape(s)
            i += n
        return out

    approx = np.zeros_like(theta)
    eps = req.epsilon
    for i in range(theta.size):
        tp = theta.copy()
        tp[i] += eps
        tm = theta.copy()
        tm[i] -= eps
        approx[i] = (_cost(unpack(tp), acts, x, y) - _cost(unpack(tm), acts, x, y)) / (2 * eps)
    num = np.linalg.norm(g - approx)
    den = np.linalg.norm(g) + np.linalg.norm(approx)
    rel = float(num / den) if den else 0.0
    return {"relative_error": rel, "n_parameters": int(theta.size),
            "evaluations": 2 * int(theta.size),
            "elapsed_ms": (time.perf_counter() - t0) * 1000}
