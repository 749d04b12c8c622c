"""Client against the real daemon (JSON transport): /init bit-identical to
numpy, /normalize against numpy's statistics, sessions, problems raised as
GradguardError, API keys, and the automatic transport choice."""
import unittest
import uuid

import numpy as np

import gradguard
from support import auth_url, client


def sid():
    return "py-" + uuid.uuid4().hex[:12]


class Init(unittest.TestCase):
    def test_he_weights_are_numpys_for_the_seed(self):
        r = client(transport="json").init([2, 4, 1], method="he", seed=3)
        np.random.seed(3)
        W1 = np.random.randn(4, 2) * np.sqrt(2 / 2)
        W2 = np.random.randn(1, 4) * np.sqrt(2 / 4)
        self.assertTrue(np.array_equal(r.parameters["W1"], W1))
        self.assertTrue(np.array_equal(r["W2"], W2))
        self.assertEqual(r.parameters["b1"].shape, (4, 1))
        self.assertFalse(r.parameters["b2"].any())
        self.assertEqual((r.seed, r.rng, r.method, r.mode), (3, "numpy", "he", "fan_in"))
        self.assertEqual(r.raw["parameters"]["W1"][0][0], W1[0, 0])

    def test_random_has_no_fan_and_a_diagnosis_verdict(self):
        r = client().init([50] * 12, method="random", scale=0.01, seed=1,
                          diagnose={"activation": "tanh", "batch": 32})
        self.assertIsNone(r.mode)
        self.assertEqual(r.diagnosis["verdict"], "vanishing")
        self.assertEqual(len(r.layers), 11)


class Normalize(unittest.TestCase):
    def test_fit_then_transform_uses_the_stored_statistics(self):
        gg, s = client(), sid()
        train = np.random.default_rng(1).normal([1000, 0.5], [300, 0.1], (50, 2))
        fit = gg.fit(train, session=s)
        self.assertEqual(fit.session, s)
        self.assertEqual(fit.n_samples_seen, 50)
        np.testing.assert_allclose(fit.mean, train.mean(axis=0), rtol=1e-13)
        np.testing.assert_allclose(fit.var, train.var(axis=0), rtol=1e-12)
        test = np.array([[1300.0, 0.4], [700.0, 0.7]])
        out = gg.transform(test, session=s)
        want = (test - train.mean(axis=0)) / train.std(axis=0)
        np.testing.assert_allclose(out.data, want, rtol=1e-12)
        back = gg.inverse_transform(out.data, session=s)
        np.testing.assert_allclose(back.data, test, rtol=1e-13)
        gg.delete_session(s)

    def test_partial_fits_merge_like_one_fit(self):
        gg, s = client(), sid()
        data = np.random.default_rng(2).normal(5, 3, (40, 3))
        for part in np.array_split(data, 4):
            last = gg.partial_fit(part, session=s)
        self.assertEqual(last.n_samples_seen, 40)
        np.testing.assert_allclose(last.mean, data.mean(axis=0), rtol=1e-13)
        np.testing.assert_allclose(last.var, data.var(axis=0), rtol=1e-12)

    def test_nan_cells_are_missing_values_with_missing_ignore(self):
        data = np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 8.0]])
        r = client().fit_transform(data, missing="ignore", session=sid())
        self.assertEqual(list(r.n_samples_seen), [3, 2])
        self.assertTrue(np.isnan(r.data[0, 1]))
        self.assertEqual(r.mean[1], 6.0)

    def test_samples_in_columns_answer_in_that_layout(self):
        X = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 60.0]])   # 2 features, 3 samples
        r = client().fit_transform(X, layout="samples_in_columns", session=sid())
        self.assertEqual(r.data.shape, (2, 3))
        np.testing.assert_allclose(r.data, (X - X.mean(1, keepdims=True)) /
                                   X.std(1, keepdims=True), rtol=1e-12)


class Sessions(unittest.TestCase):
    def test_put_get_delete(self):
        gg, s = client(), sid()
        gg.put_session(s, 4, [2.0, 10.0], [4.0, 25.0])
        got = gg.get_session(s)
        self.assertEqual(got.session, s)
        np.testing.assert_array_equal(got.scale, [2.0, 5.0])
        self.assertTrue(got.created_at)
        out = gg.transform([[4.0, 0.0]], session=s)
        np.testing.assert_array_equal(out.data, [[1.0, -2.0]])
        gg.delete_session(s)
        with self.assertRaises(gradguard.GradguardError) as cm:
            gg.get_session(s)
        self.assertEqual(cm.exception.status, 404)
        self.assertEqual(cm.exception.type, "/problems/session-not-found")

    def test_an_id_with_any_byte_is_quoted_not_split(self):
        with self.assertRaises(gradguard.GradguardError) as cm:
            client().get_session("a/b")
        self.assertIn(cm.exception.status, (404, 422))


class Problems(unittest.TestCase):
    def test_a_problem_carries_type_status_detail_errors_and_request_id(self):
        with self.assertRaises(gradguard.ProblemError) as cm:
            client().normalize("fit", [[1, 2], [3, 4]], dta=1)
        e = cm.exception
        self.assertIsInstance(e, gradguard.GradguardError)
        self.assertEqual((e.status, e.type), (422, "/problems/unknown-field"))
        self.assertEqual(e.title, "Unknown field")
        self.assertIn("did you mean 'data'", e.detail)
        self.assertEqual(e.pointers, ["/dta"])
        self.assertTrue(e.request_id)
        self.assertIn("422 /problems/unknown-field", str(e))

    def test_every_offending_cell_is_named(self):
        with self.assertRaises(gradguard.GradguardError) as cm:
            client().fit([[1, 2], [3, "x"], [5]])
        self.assertEqual(cm.exception.status, 422)
        self.assertTrue(any(p.startswith("/data/") for p in cm.exception.pointers))

    def test_an_api_key_is_sent_as_a_bearer_token(self):
        url, key = auth_url()
        with self.assertRaises(gradguard.GradguardError) as cm:
            gradguard.Client(url).init([2, 2], seed=1)
        self.assertEqual((cm.exception.status, cm.exception.type),
                         (401, "/problems/unauthorized"))
        r = gradguard.Client(url, api_key=key).init([2, 2], seed=1)
        self.assertEqual(r.parameters["W1"].shape, (2, 2))
        self.assertTrue(gradguard.Client(url).healthy())

    def test_nothing_listening_is_an_oserror(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        with self.assertRaises(OSError):
            gradguard.Client("http://127.0.0.1:%d" % port, timeout=5).init([1, 1])


class Gradcheck(unittest.TestCase):
    MODEL = {"layer_dims": [2, 3, 1], "activations": ["tanh", "sigmoid"],
             "loss": "binary_cross_entropy"}
    PARAMS = {"W1": np.array([[0.5, -0.3], [0.8, 0.2], [-0.6, 0.4]]),
              "b1": np.array([0.1, -0.1, 0.05]), "W2": np.array([[0.7, -0.5, 0.3]]),
              "b2": np.array([0.0])}
    X = np.array([[1.0, 2.0], [0.5, -1.0], [-1.5, 0.3]])
    Y = np.array([[1.0], [0.0], [1.0]])

    def test_the_services_own_gradients_pass_and_come_back(self):
        r = client().gradcheck(model=self.MODEL, parameters=self.PARAMS, X=self.X,
                               Y=self.Y, return_gradients=True)
        self.assertEqual(r.verdict, "pass")
        self.assertTrue(r.passed)
        self.assertEqual([b["name"] for b in r.blocks], ["W1", "b1", "W2", "b2"])
        self.assertEqual(r.gradients["dW1"].shape, (3, 2))
        self.assertEqual(r.n_parameters, 13)
        self.assertEqual(r.evaluations, 26)

    def test_a_wrong_block_is_blamed(self):
        gg = client()
        own = gg.gradcheck(model=self.MODEL, parameters=self.PARAMS, X=self.X,
                           Y=self.Y, return_gradients=True).gradients
        own["db1"] = own["db1"] * 3 + 0.1
        r = gg.gradcheck(model=self.MODEL, parameters=self.PARAMS, X=self.X,
                         Y=self.Y, gradients=own, top=2)
        self.assertEqual(r.verdict, "fail")
        self.assertEqual(r.failing_blocks(), ["b1"])
        self.assertEqual(r.block("W2")["verdict"], "pass")
        self.assertEqual(r.worst[0]["name"], "b1")
        self.assertEqual(len(r.worst), 2)

    def test_vector_source_relative_error_by_hand(self):
        g = np.array([3.0, 4.0])
        n = np.array([3.0, 4.0 + 1e-3])
        r = client().gradcheck(vector={"gradient": g, "numeric_gradient": n})
        want = np.linalg.norm(g - n) / (np.linalg.norm(g) + np.linalg.norm(n))
        self.assertAlmostEqual(r.relative_error, want, delta=want * 1e-12)
        self.assertEqual(r.verdict, "suspect")


class AutoTransport(unittest.TestCase):
    def test_a_large_request_gives_the_json_result(self):
        # above the threshold "auto" tries .npz; a daemon without it (415)
        # is then spoken to in JSON: the answer is the same either way
        data = np.random.default_rng(5).normal(size=(200, 3))
        auto = client(npz_threshold=100).fit_transform(data, session=sid())
        plain = client(transport="json").fit_transform(data, session=sid())
        self.assertTrue(np.array_equal(auto.data, plain.data))
        self.assertTrue(np.array_equal(auto.mean, plain.mean))

    def test_a_bad_transport_name_is_refused(self):
        with self.assertRaises(ValueError):
            gradguard.Client("http://127.0.0.1:1", transport="xml")
