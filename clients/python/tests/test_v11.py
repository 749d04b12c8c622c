"""Contract v1.1 through the client: .npz bodies both ways (the same bits
as JSON), session lifetimes, stateless fit_transform. Each test is skipped
while the daemon lacks the feature (see support.requires)."""
import datetime
import unittest
import uuid

import numpy as np

from support import client, requires


def sid():
    return "py11-" + uuid.uuid4().hex[:12]


MODEL = {"layer_dims": [3, 4, 2], "activations": ["relu", "softmax"],
         "loss": "categorical_cross_entropy", "l2": 0.1}


def problem():
    rng = np.random.default_rng(11)
    params = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=4) * 0.1,
              "W2": rng.normal(size=(2, 4)), "b2": np.zeros(2)}
    X = rng.normal(size=(6, 3))
    Y = np.eye(2)[rng.integers(0, 2, 6)]
    return params, X, Y


class NpzTransport(unittest.TestCase):
    @requires("npz")
    def test_normalize_gives_the_json_bits(self):
        data = np.random.default_rng(3).normal(100, 7, (300, 4))
        s1, s2 = sid(), sid()
        npz = client(transport="npz").fit_transform(data, session=s1)
        js = client(transport="json").fit_transform(data, session=s2)
        self.assertIsInstance(npz.raw["data"], np.ndarray)   # an .npz answer
        self.assertTrue(np.array_equal(npz.data, js.data))
        self.assertTrue(np.array_equal(npz.mean, js.mean))
        self.assertTrue(np.array_equal(npz.scale, js.scale))
        t = client(transport="npz").transform(data[:5], session=s1, with_std=False)
        np.testing.assert_array_equal(t.data, data[:5] - js.mean)

    @requires("npz")
    def test_nan_cells_of_a_binary_body_are_missing_values(self):
        data = np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 8.0]])
        r = client(transport="npz").fit_transform(data, missing="ignore", session=sid())
        self.assertTrue(np.isnan(r.data[0, 1]))
        self.assertEqual(r.mean[1], 6.0)

    @requires("npz")
    def test_init_parameters_come_back_as_npz_members(self):
        npz = client(transport="npz").init([30, 20, 10], method="glorot", seed=9)
        js = client(transport="json").init([30, 20, 10], method="glorot", seed=9)
        self.assertIsInstance(npz.raw["parameters"]["W1"], np.ndarray)
        for k in ("W1", "b1", "W2", "b2"):
            self.assertTrue(np.array_equal(npz.parameters[k], js.parameters[k]), k)
        self.assertEqual((npz.seed, npz.mode), (9, "fan_avg"))

    @requires("npz")
    def test_gradcheck_model_source_gives_the_json_result(self):
        params, X, Y = problem()
        kw = dict(model=MODEL, parameters=params, X=X, Y=Y, return_gradients=True)
        npz = client(transport="npz").gradcheck(**kw)
        js = client(transport="json").gradcheck(**kw)
        self.assertEqual(npz.relative_error, js.relative_error)
        self.assertEqual(npz.verdict, js.verdict)
        for k in js.gradients:
            self.assertTrue(np.array_equal(npz.gradients[k].reshape(js.gradients[k].shape),
                                           js.gradients[k]), k)

    @requires("npz")
    def test_auto_uses_npz_above_the_threshold(self):
        gg = client(npz_threshold=100)
        r = gg.fit_transform(np.random.default_rng(4).normal(size=(100, 2)), session=sid())
        self.assertIsInstance(r.raw["data"], np.ndarray)
        self.assertTrue(gg._npz_requests and gg._npz_answers)


class Lifetimes(unittest.TestCase):
    @requires("ttl")
    def test_a_ttl_sets_expires_at_and_none_means_never(self):
        gg, s = client(), sid()
        r = gg.fit([[1.0], [2.0]], session=s, ttl=3600)
        when = datetime.datetime.fromisoformat(r.expires_at.replace("Z", "+00:00"))
        left = (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        self.assertTrue(3500 < left <= 3601, left)
        s2 = sid()
        self.assertIsNone(gg.fit([[1.0], [2.0]], session=s2).expires_at)
        put = gg.put_session(s2, 2, [1.5], [0.25], ttl=60)
        self.assertIsNotNone(put.expires_at)
        self.assertEqual(gg.get_session(s2).expires_at, put.expires_at)

    @requires("stateless")
    def test_fit_transform_without_a_session_stores_nothing(self):
        r = client().fit_transform([[1.0, 2.0], [3.0, 6.0]])
        self.assertIsNone(r.session)
        np.testing.assert_array_equal(r.data, [[-1.0, -1.0], [1.0, 1.0]])
