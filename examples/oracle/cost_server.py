#!/usr/bin/env python3
"""A gradguard cost oracle: L2-regularized logistic regression on fixed data.

Serves the /gradcheck oracle protocol (standard library only):
  POST {"theta": [...], "perturbations": [[i, d], ...]} -> {"costs": [...]}
       one cost of theta with theta[i] += d per perturbation, in order
  POST {"points": [[...], ...]}                        -> {"costs": [...]}
       one cost per full parameter vector
theta = [w1, w2, w3, b]; blocks W (1x3) and b (1).

  python3 cost_server.py [--port 9000] [--bind 127.0.0.1]
  python3 cost_server.py --request --url URL [--bug]   # a /gradcheck body

--bug makes the client-side gradient wrong: db lacks the 1/m factor.
"""
import argparse
import json
import math
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

X = [[0.5, -1.2, 0.3], [1.5, 0.2, -0.7], [-0.3, 0.8, 1.1], [0.9, -0.4, 0.0],
     [-1.1, -0.6, 0.4], [0.2, 1.3, -0.9], [1.2, 0.7, 0.6], [-0.8, 0.1, -1.4]]
Y = [1, 0, 1, 1, 0, 1, 1, 0]
LAMBDA = 0.1
THETA = [0.3, -0.2, 0.5, 0.1]
BLOCKS = [{"name": "W", "shape": [1, 3]}, {"name": "b", "shape": [1]}]
MAX_BODY = 1 << 20


def softplus(z):
    """log(1 + e^z) without overflow."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def cost(theta):
    """J = (1/m) sum [softplus(z) - y z] + lambda/(2m) |w|^2, z = w.x + b
    (the cross-entropy of sigmoid(z) written stably)."""
    w, b, m = theta[:3], theta[3], len(X)
    j = 0.0
    for x, y in zip(X, Y):
        z = sum(wi * xi for wi, xi in zip(w, x)) + b
        j += softplus(z) - y * z
    return j / m + LAMBDA / (2 * m) * sum(wi * wi for wi in w)


def gradient(theta, bug=False):
    w, b, m = theta[:3], theta[3], len(X)
    dw, db = [0.0, 0.0, 0.0], 0.0
    for x, y in zip(X, Y):
        z = sum(wi * xi for wi, xi in zip(w, x)) + b
        r = 1.0 / (1.0 + math.exp(-z)) - y
        for k in range(3):
            dw[k] += r * x[k]
        db += r
    dw = [d / m + LAMBDA / m * wi for d, wi in zip(dw, w)]
    return dw + [db if bug else db / m]


def answer(req):
    """The costs for one oracle request, or raise ValueError."""
    if "points" in req:
        pts = req["points"]
        if any(len(p) != len(THETA) for p in pts):
            raise ValueError("each point needs %d values" % len(THETA))
        return [cost([float(v) for v in p]) for p in pts]
    theta = [float(v) for v in req["theta"]]
    if len(theta) != len(THETA):
        raise ValueError("theta needs %d values" % len(THETA))
    out = []
    for i, d in req["perturbations"]:
        t = list(theta)
        t[int(i)] += float(d)
        out.append(cost(t))
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive: gradguard reuses connections
    disable_nagle_algorithm = True  # headers and body go out as two writes

    def send(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n <= 0 or n > MAX_BODY:
            self.send(413, {"error": "body size"})
            return
        try:
            costs = answer(json.loads(self.rfile.read(n)))
        except (ValueError, KeyError, TypeError, IndexError) as e:
            self.send(400, {"error": str(e)})
            return
        self.send(200, {"costs": costs})

    def log_message(self, fmt, *args):
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=9000)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--bug", action="store_true",
                    help="make the client-side gradient wrong (db without 1/m)")
    ap.add_argument("--request", action="store_true",
                    help="print a /gradcheck body for --url and exit")
    ap.add_argument("--url", default="http://127.0.0.1:9000/cost")
    a = ap.parse_args()
    if a.request:
        json.dump({"oracle": {"url": a.url}, "theta": THETA,
                   "gradient": gradient(THETA, a.bug), "blocks": BLOCKS,
                   "epsilon": 1e-6}, sys.stdout)
        print()
        return
    srv = ThreadingHTTPServer((a.bind, a.port), Handler)
    print("oracle listening on http://%s:%d/cost" % (a.bind, srv.server_port),
          flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
