"""Request and response bodies: JSON, and numpy's .npz for large arrays.

JSON: numpy arrays become nested lists of Python numbers (repr round-trips
doubles exactly); NaN cells become null (a missing value, which the service
accepts with missing: "ignore" and reports otherwise); an infinite value is
refused here, JSON cannot carry it.

.npz (contract v1.1): every array of the request is a member named after the
field it replaces (data, X, Y, W1, b1, dW1, theta, gradient, ...); scalar
top-level fields go to the query string; nested objects (model, check,
thresholds, oracle, ...) to a JSON member request.json. An .npz answer
holds each array as a member plus response.json with the rest.
"""
import io
import json
import math
import urllib.parse
import zipfile

import numpy as np

JSON = "application/json"
NPZ = "application/x-npz"
PROBLEM = "application/problem+json"

# Objects whose values are named arrays that travel as top-level members
# (parameters.W1 -> W1, gradients.dW1 -> dW1).
ARRAY_MAPS = ("parameters", "gradients")
# Top-level fields that are arrays of numbers.
ARRAY_FIELDS = ("data", "X", "Y", "theta", "gradient")


def is_array(x):
    return isinstance(x, np.ndarray) or (
        hasattr(x, "__array__") and not isinstance(x, (str, bytes, dict)))


def as_array(x):
    """A numpy array from an ndarray, a torch tensor or nested lists."""
    if hasattr(x, "detach"):          # a torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _plain(x):
    """x with every array turned into lists of Python numbers (NaN -> None)."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if hasattr(x, "detach") or isinstance(x, np.ndarray):
        a = as_array(x)
        if a.dtype.kind == "f":
            if np.isinf(a).any():
                raise ValueError("an array holds an infinite value; JSON cannot "
                                 "carry it")
            if np.isnan(a).any():
                obj = a.astype(object)
                obj[np.isnan(a)] = None
                return obj.tolist()
        return a.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and math.isinf(x):
        raise ValueError("an infinite number cannot travel as JSON")
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


def encode_json(fields):
    """The JSON text (bytes) of a request."""
    return json.dumps(_plain(fields), allow_nan=False,
                      separators=(",", ":")).encode("utf-8")


def count_elements(fields):
    """How many numbers the arrays of a request hold (lists counted too)."""
    n = 0
    if isinstance(fields, dict):
        for v in fields.values():
            n += count_elements(v)
    elif isinstance(fields, (list, tuple)):
        if fields and all(isinstance(v, (int, float)) for v in fields):
            return len(fields)
        for v in fields:
            n += count_elements(v)
    elif isinstance(fields, np.ndarray) or hasattr(fields, "detach"):
        n += int(as_array(fields).size)
    return n


def has_array_members(fields):
    """True when encode_npz would put at least one array in its own member."""
    for k, v in fields.items():
        if k in ARRAY_MAPS and isinstance(v, dict) and v:
            return True
        if k in ARRAY_FIELDS and v is not None and not isinstance(v, (str, dict)):
            return True
    return False


def _npy(a):
    """The .npy bytes of an array: <f8 for floats, <i8 for integers."""
    a = as_array(a)
    if a.dtype.kind in "iub":
        a = a.astype("<i8")
    else:
        a = a.astype("<f8")
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


def _query_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def encode_npz(fields, compress=False):
    """(body, query string) of a request as an .npz body.

    Arrays become members; scalars go to the query string; other values
    (objects, lists of strings, ...) to the request.json member."""
    members = {}
    rest = {}
    query = []
    for k, v in fields.items():
        if k == "check" and v == "all":
            continue    # the default; the query form of check is JSON
        if k in ARRAY_MAPS and isinstance(v, dict):
            for name, a in v.items():
                members[name] = a
        elif k in ARRAY_FIELDS and v is not None and not isinstance(v, (str, dict)):
            members[k] = v
        elif v is None or isinstance(v, (bool, int, float, str, np.generic)):
            query.append((k, _query_value(_plain(v))))
        else:
            rest[k] = v
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, a in members.items():
            z.writestr(name + ".npy", _npy(a))
        if rest:
            z.writestr("request.json", encode_json(rest))
    return buf.getvalue(), urllib.parse.urlencode(query)


def decode_npz(body):
    """The response dict of an .npz answer: response.json with every array
    member put back where the JSON response has it (W1 under parameters,
    dW1 under gradients, the others at the top level)."""
    out = {}
    arrays = {}
    with np.load(io.BytesIO(body), allow_pickle=False) as z:
        for name in z.files:
            v = z[name]
            if name == "response.json":
                out.update(json.loads(bytes(v).decode("utf-8")))
            else:
                arrays[name] = v
    for name, a in arrays.items():
        if name[:1] in "Wb" and name[1:].isdigit():
            out.setdefault("parameters", {})[name] = a
        elif name[:2] in ("dW", "db") and name[2:].isdigit():
            out.setdefault("gradients", {})[name] = a
        else:
            out[name] = a
    return out


def float_array(x):
    """A float64 array from a JSON array (null cells become NaN)."""
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        return x.astype(np.float64, copy=False)

    def fix(v):
        if isinstance(v, list):
            return [fix(w) for w in v]
        return np.nan if v is None else v
    return np.asarray(fix(x), dtype=np.float64)
