"""The HTTP client: one method per endpoint, standard library HTTP only."""
import json
import urllib.error
import urllib.parse
import urllib.request

import numpy as np

from . import transport as tp
from .errors import GradguardError
from .results import GradcheckResult, InitResult, NormalizeResult, SessionResult

TRANSPORTS = ("auto", "json", "npz")


class Client:
    """A gradguard service at url.

    api_key: sent as "Authorization: Bearer <key>" (servers started with
    --api-keys-file need one). timeout: seconds per HTTP request.
    transport: "json", "npz" (numpy's .npz bodies both ways, contract v1.1)
    or "auto" (the default): .npz once a request or its answer holds at
    least npz_threshold numbers, JSON below; a server that refuses .npz
    bodies (415) or answers (406) is then spoken to in JSON. Every method
    also takes transport= for one call.

    Every answer that is not 2xx raises GradguardError (the problem's type,
    status, title, detail, errors and request id).
    """

    def __init__(self, url="http://127.0.0.1:8080", api_key=None, timeout=60.0,
                 transport="auto", npz_threshold=16384, compress=False):
        if transport not in TRANSPORTS:
            raise ValueError("transport must be one of %s" % (TRANSPORTS,))
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.transport = transport
        self.npz_threshold = npz_threshold
        self.compress = compress
        self._npz_requests = True   # cleared by a 415 in auto mode
        self._npz_answers = True    # cleared by a 406 in auto mode

    # ---- HTTP -------------------------------------------------------------

    def request(self, method, path, body=None, content_type=None, accept=None,
                query=None):
        """One HTTP exchange: (status, headers, body bytes). Raises
        GradguardError for 4xx/5xx, OSError when nothing answered."""
        url = self.url + path
        if query:
            url += "?" + query
        req = urllib.request.Request(url, data=body, method=method)
        if content_type:
            req.add_header("Content-Type", content_type)
        req.add_header("Accept", accept or tp.JSON)
        if self.api_key:
            req.add_header("Authorization", "Bearer " + self.api_key)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            data = e.read()
            raise _problem(e.code, e.headers, data) from None

    def _decode(self, headers, data):
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if not data:
            return None
        if ctype == tp.NPZ:
            return tp.decode_npz(data)
        return json.loads(data.decode("utf-8"))

    def call(self, method, path, fields=None, transport=None, answer_size=0):
        """Sends fields (a dict, may hold numpy arrays or torch tensors) and
        returns the decoded answer (a dict; arrays stay lists in JSON
        answers, numpy arrays in .npz ones; None for 204)."""
        mode = transport or self.transport
        if mode not in TRANSPORTS:
            raise ValueError("transport must be one of %s" % (TRANSPORTS,))
        auto = mode == "auto"
        size = tp.count_elements(fields) if fields is not None else 0
        # a request without arrays (an /init) stays JSON: only its answer
        # is worth an .npz
        send_npz = fields is not None and tp.has_array_members(fields) and (
            mode == "npz" or (auto and self._npz_requests and size >= self.npz_threshold))
        want_npz = mode == "npz" or (
            auto and self._npz_answers and answer_size >= self.npz_threshold)
        while True:
            body = ctype = query = None
            if fields is not None:
                if send_npz:
                    body, query = tp.encode_npz(fields, self.compress)
                    ctype = tp.NPZ
                else:
                    body, ctype = tp.encode_json(fields), tp.JSON
            accept = tp.NPZ if want_npz else tp.JSON
            try:
                _, headers, data = self.request(method, path, body, ctype,
                                                accept, query)
                return self._decode(headers, data)
            except GradguardError as e:
                if auto and send_npz and e.status == 415:
                    self._npz_requests = send_npz = False
                    continue
                if auto and want_npz and e.status == 406:
                    self._npz_answers = want_npz = False
                    continue
                raise

    # ---- endpoints ----------------------------------------------------------

    def normalize(self, op, data, session=None, transport=None, **fields):
        """POST /normalize. op: fit, partial_fit, transform, fit_transform,
        inverse_transform; data: samples x features (or features x samples
        with layout="samples_in_columns"); NaN cells are missing values.
        Other fields as in the API: with_mean, with_std, missing, report,
        layout, ttl. Returns a NormalizeResult (mean, var, scale, data as
        float64 arrays)."""
        req = {"op": op, "data": data}
        if session is not None:
            req["session"] = session
        req.update(fields)
        n = tp.count_elements(data) if op.endswith("transform") else 0
        return NormalizeResult(self.call("POST", "/normalize", req, transport, n))

    def fit(self, data, session=None, **fields):
        return self.normalize("fit", data, session, **fields)

    def partial_fit(self, data, session=None, **fields):
        return self.normalize("partial_fit", data, session, **fields)

    def transform(self, data, session, **fields):
        return self.normalize("transform", data, session, **fields)

    def fit_transform(self, data, session=None, **fields):
        return self.normalize("fit_transform", data, session, **fields)

    def inverse_transform(self, data, session, **fields):
        return self.normalize("inverse_transform", data, session, **fields)

    def init(self, layer_dims, transport=None, **fields):
        """POST /init. layer_dims [n_0, ..., n_L]; fields: method, distribution,
        mode, scale, seed, rng, diagnose. Returns an InitResult whose
        parameters are float64 arrays (W<l> [n_l, n_(l-1)], b<l> [n_l, 1])."""
        dims = [int(d) for d in layer_dims]
        req = {"layer_dims": dims}
        req.update(fields)
        size = sum(a * b + a for a, b in zip(dims[1:], dims[:-1]))
        return InitResult(self.call("POST", "/init", req, transport, size))

    def gradcheck(self, transport=None, **fields):
        """POST /gradcheck with the request's fields as keywords: model,
        parameters, X, Y, gradients (model source); vector (vector source);
        oracle, theta, gradient, blocks (oracle source); epsilon, thresholds,
        check, top, deadline_ms, return_gradients, layout. Arrays may be
        numpy arrays or torch tensors. Returns a GradcheckResult."""
        size = tp.count_elements(fields.get("parameters")) \
            if fields.get("return_gradients") else 0
        return GradcheckResult(self.call("POST", "/gradcheck", fields,
                                         transport, size))

    # ---- sessions -------------------------------------------------------------

    @staticmethod
    def _session_path(session_id):
        return "/sessions/" + urllib.parse.quote(str(session_id), safe="")

    def get_session(self, session_id):
        """GET /sessions/{id}: the stored statistics (SessionResult)."""
        return SessionResult(self.call("GET", self._session_path(session_id),
                                       transport="json"))

    def put_session(self, session_id, n_samples_seen, mean, var, ttl=None):
        """PUT /sessions/{id}: import statistics (ttl: lifetime in seconds)."""
        req = {"n_samples_seen": n_samples_seen, "mean": mean, "var": var}
        path = self._session_path(session_id)
        if ttl is not None:
            path += "?" + urllib.parse.urlencode({"ttl": int(ttl)})
        return SessionResult(self.call("PUT", path, req, transport="json"))

    def delete_session(self, session_id):
        """DELETE /sessions/{id} (204)."""
        self.call("DELETE", self._session_path(session_id), transport="json")

    # ---- operations -------------------------------------------------------------

    def healthy(self):
        """True when GET /healthz answers 200."""
        try:
            status, _, _ = self.request("GET", "/healthz")
        except (GradguardError, OSError):
            return False
        return status == 200


def _problem(status, headers, data):
    """The GradguardError of an error answer."""
    request_id = headers.get("X-Request-Id") if headers else None
    retry = headers.get("Retry-After") if headers else None
    try:
        retry = int(retry) if retry is not None else None
    except ValueError:
        retry = None
    problem = None
    try:
        problem = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        pass
    if not isinstance(problem, dict):
        problem = {"type": "about:blank", "status": status,
                   "title": "HTTP %d" % status,
                   "detail": data[:300].decode("utf-8", "replace")}
    return GradguardError(problem, status, request_id, retry)


def to_numpy(x):
    """A float64 numpy array from a list, array or torch tensor."""
    return np.asarray(tp.as_array(x), dtype=np.float64)
