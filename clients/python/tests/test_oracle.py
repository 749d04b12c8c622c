"""check_function: a Python cost checked through the service's oracle
source, both message forms, per-block blame, and the server's lifetime."""
import json
import socket
import unittest
import urllib.request

import numpy as np

import gradguard
from support import client


def cost(t):
    """J = sum W^2 / 2 + sum sin(b) + W[0, 0] * b[1]."""
    return float(0.5 * np.sum(t["W"] ** 2) + np.sin(t["b"]).sum() + t["W"][0, 0] * t["b"][1])


def grad(t):
    gW = t["W"].copy()
    gW[0, 0] += t["b"][1]
    gb = np.cos(t["b"])
    gb[1] += t["W"][0, 0]
    return {"W": gW, "b": gb}


THETA = {"W": np.array([[0.3, -1.2, 0.5], [2.0, 0.1, -0.4]]), "b": np.array([0.7, -0.2])}


class CheckFunction(unittest.TestCase):
    def test_a_right_gradient_passes_in_every_mode(self):
        for check in ("all", {"sample": 4, "seed": 2}, {"directions": 4, "seed": 2}):
            r = gradguard.check_function(cost, THETA, grad(THETA), client=client(),
                                         check=check)
            self.assertEqual(r.verdict, "pass", check)
            self.assertEqual([b["name"] for b in r.blocks], ["W", "b"])
            self.assertAlmostEqual(r.cost, cost(THETA), delta=1e-12)

    def test_a_wrong_block_is_blamed(self):
        g = grad(THETA)
        g["b"] = g["b"] * 1.5
        r = gradguard.check_function(cost, THETA, g, client=client())
        self.assertEqual(r.verdict, "fail")
        self.assertEqual(r.failing_blocks(), ["b"])
        self.assertEqual(r.block("W")["verdict"], "pass")

    def test_a_plain_array_is_one_block_and_keeps_its_shape(self):
        shapes = []

        def f(x):
            shapes.append(x.shape)
            return float(np.sum(x ** 3))
        x = np.array([[1.0, -2.0], [0.5, 3.0]])
        r = gradguard.check_function(f, x, 3 * x ** 2, client=client(), epsilon=1e-6)
        self.assertIn(r.verdict, ("pass", "warn"))
        self.assertEqual(r.n_parameters, 4)
        self.assertEqual(set(shapes), {(2, 2)})
        self.assertEqual(r.evaluations, 8)

    def test_an_exception_in_the_cost_is_raised_to_the_caller(self):
        def broken(t):
            raise ZeroDivisionError("no cost today")
        with self.assertRaises(ZeroDivisionError):
            gradguard.check_function(broken, THETA, grad(THETA), client=client())

    def test_the_oracle_server_answers_both_message_forms(self):
        flat = lambda t: t  # noqa: E731
        with gradguard.OracleServer(lambda t: float(np.sum(t ** 2)), flat) as srv:
            def post(msg):
                req = urllib.request.Request(srv.url, data=json.dumps(msg).encode(),
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=10) as r:
                    return json.loads(r.read())["costs"]
            self.assertEqual(post({"theta": [1.0, 2.0], "perturbations":
                                   [[0, 0.0], [1, 0.5], [0, -1.0]]}), [5.0, 7.25, 4.0])
            self.assertEqual(post({"points": [[1.0, 1.0], [0.0, 3.0]]}), [2.0, 9.0])
            self.assertEqual(srv.evaluations, 5)
            port = srv.port
        with self.assertRaises(OSError):   # stopped: the port is closed
            socket.create_connection(("127.0.0.1", port), timeout=5).close()

    def test_the_directional_check_sends_points(self):
        seen = []
        real = gradguard.OracleServer.costs

        def spy(self, message):
            seen.append(sorted(message))
            return real(self, message)
        gradguard.OracleServer.costs = spy
        try:
            r = gradguard.check_function(cost, THETA, grad(THETA), client=client(),
                                         check={"directions": 3, "seed": 1})
        finally:
            gradguard.OracleServer.costs = real
        self.assertEqual(r.verdict, "pass")
        self.assertTrue(seen and all(m == ["points"] for m in seen), seen)
