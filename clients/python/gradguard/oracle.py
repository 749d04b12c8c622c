"""check_function: any Python cost function checked through the service's
oracle source, served from a loopback HTTP server in a thread."""
import http.server
import json
import math
import threading

import numpy as np

from .client import Client
from .errors import GradguardError
from .transport import as_array


class _Layout:
    """How a flat theta maps back onto what the cost function takes: one
    array of some shape, or a dict of named arrays (then one block each)."""

    def __init__(self, theta):
        if isinstance(theta, dict):
            self.names = list(theta)
            self.shapes = [as_array(theta[k]).shape for k in self.names]
        else:
            self.names = None
            self.shapes = [as_array(theta).shape]
        self.sizes = [int(np.prod(s)) for s in self.shapes]

    def flatten(self, x, what):
        if self.names is None:
            if isinstance(x, dict):
                raise TypeError("%s is a dict but theta is not" % what)
            parts = [as_array(x)]
        else:
            if not isinstance(x, dict) or list(x) != self.names:
                raise TypeError("%s must be a dict with theta's keys, in order"
                                % what)
            parts = [as_array(x[k]) for k in self.names]
        for p, shape in zip(parts, self.shapes):
            if p.shape != shape:
                raise ValueError("%s has shape %s, theta %s" % (what, p.shape, shape))
        return np.concatenate([p.astype(np.float64).ravel() for p in parts])

    def unflatten(self, flat):
        if self.names is None:
            return flat.reshape(self.shapes[0])
        out, at = {}, 0
        for name, shape, size in zip(self.names, self.shapes, self.sizes):
            out[name] = flat[at:at + size].reshape(shape)
            at += size
        return out

    def blocks(self):
        """The request's blocks: [{"name", "shape"}] (None for one array)."""
        if self.names is None:
            return None
        return [{"name": n, "shape": list(s) if len(s) in (1, 2) else [sz]}
                for n, s, sz in zip(self.names, self.shapes, self.sizes)]


class OracleServer:
    """A loopback HTTP server answering the oracle protocol for cost(theta):

      {"theta": [...], "perturbations": [[i, d], ...]} -> {"costs": [...]}
          one cost of theta with theta[i] += d per perturbation, in order;
      {"points": [[...], ...]} -> {"costs": [...]}   one cost per point.

    cost receives theta in the caller's form (unflatten). Use as a context
    manager, or start() / stop(). url is the endpoint to give the service.
    A cost that raises answers 500; the first exception is kept in .error.
    """

    def __init__(self, cost, unflatten=None, host="127.0.0.1", port=0,
                 path="/cost"):
        self.cost = cost
        self.unflatten = unflatten or (lambda flat: flat)
        self.host = host
        self.path = path
        self.calls = 0
        self.evaluations = 0
        self.error = None
        self._lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer((host, port), self._handler())
        self._httpd.daemon_threads = True
        self._thread = None

    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def url(self):
        host = self.host if ":" not in self.host else "[%s]" % self.host
        return "http://%s:%d%s" % (host, self.port, self.path)

    def costs(self, message):
        """The costs answering one oracle message (a dict)."""
        if "points" in message:
            flats = [np.asarray(p, dtype=np.float64) for p in message["points"]]
        else:
            theta = np.asarray(message["theta"], dtype=np.float64)
            flats = []
            for i, d in message["perturbations"]:
                t = theta.copy()
                t[int(i)] += d
                flats.append(t)
        out = []
        for t in flats:
            c = float(self.cost(self.unflatten(t)))
            out.append(c if math.isfinite(c) else None)
        with self._lock:
            self.calls += 1
            self.evaluations += len(out)
        return out

    def _handler(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"   # keep-alive: the service reuses connections
            timeout = 60

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                try:
                    status, answer = 200, {"costs": server.costs(json.loads(raw))}
                except Exception as e:  # noqa: BLE001 - reported to the caller
                    with server._lock:
                        if server.error is None:
                            server.error = e
                    status, answer = 500, {"error": "%s: %s" % (type(e).__name__, e)}
                body = json.dumps(answer, allow_nan=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        name="gradguard-oracle", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def check_function(cost, theta, gradient, client=None, url=None, host="127.0.0.1",
                   batch_size=None, timeout_ms=None, **fields):
    """Checks gradient, the analytic gradient of cost at theta, against the
    service's centered differences of cost.

    cost(theta) -> float, any Python function. theta: an array (any shape)
    or a dict of named arrays (each becomes a block the answer blames);
    gradient: the same form. client: a Client (else one for url, default
    http://127.0.0.1:8080). A loopback oracle server is started on host for
    the call and stopped afterwards; the service must be able to reach it
    (it calls only hosts on its --oracle-allow list: loopback by default).
    fields: epsilon, thresholds, check, top, deadline_ms. Returns a
    GradcheckResult; an exception raised by cost is re-raised.
    """
    if client is None:
        client = Client(url or "http://127.0.0.1:8080")
    layout = _Layout(theta)
    flat_theta = layout.flatten(theta, "theta")
    flat_grad = layout.flatten(gradient, "gradient")
    req = dict(fields)
    blocks = layout.blocks()
    if blocks is not None and "blocks" not in req:
        req["blocks"] = blocks
    with OracleServer(cost, layout.unflatten, host=host) as server:
        oracle = {"url": server.url}
        if batch_size is not None:
            oracle["batch_size"] = int(batch_size)
        if timeout_ms is not None:
            oracle["timeout_ms"] = int(timeout_ms)
        try:
            return client.gradcheck(oracle=oracle, theta=flat_theta,
                                    gradient=flat_grad, **req)
        except GradguardError as e:
            if server.error is not None:
                raise server.error from e
            raise
