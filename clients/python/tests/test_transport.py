"""Request and response bodies, without a server: JSON numbers, NaN as
null, and the .npz form the contract (v1.1) describes."""
import io
import json
import unittest
import urllib.parse
import zipfile

import numpy as np

from gradguard import transport as tp


class JsonBodies(unittest.TestCase):
    def test_doubles_round_trip_exactly(self):
        a = np.array([[0.1, 1 / 3], [2 ** -1074, 1.7976931348623157e308]])
        back = np.array(json.loads(tp.encode_json({"data": a}))["data"])
        self.assertTrue(np.array_equal(a, back))

    def test_nan_cells_are_sent_as_null(self):
        body = json.loads(tp.encode_json({"data": np.array([[1.0, np.nan]])}))
        self.assertEqual(body["data"], [[1.0, None]])

    def test_an_infinite_value_is_refused_before_sending(self):
        with self.assertRaises(ValueError):
            tp.encode_json({"data": np.array([[np.inf]])})

    def test_numpy_scalars_and_integer_arrays_become_json_numbers(self):
        body = json.loads(tp.encode_json({"seed": np.uint32(7),
                                          "layer_dims": np.array([3, 2])}))
        self.assertEqual(body, {"seed": 7, "layer_dims": [3, 2]})

    def test_null_cells_of_an_answer_become_nan(self):
        a = tp.float_array([[1, None], [None, 2.5]])
        self.assertEqual(a.dtype, np.float64)
        self.assertTrue(np.isnan(a[0, 1]) and np.isnan(a[1, 0]))
        self.assertEqual(a[1, 1], 2.5)


class NpzBodies(unittest.TestCase):
    def test_arrays_are_members_scalars_query_objects_request_json(self):
        X = np.arange(6.0).reshape(3, 2)
        body, query = tp.encode_npz({
            "model": {"layer_dims": [2, 1], "activations": ["sigmoid"],
                      "loss": "mse"},
            "parameters": {"W1": np.ones((1, 2)), "b1": np.zeros(1)},
            "gradients": {"dW1": np.ones((1, 2)), "db1": np.zeros(1)},
            "X": X, "Y": np.array([[1], [0], [1]]), "top": 3,
            "return_gradients": True, "epsilon": 1e-6, "check": "all"})
        q = dict(urllib.parse.parse_qsl(query))
        # check "all" is the default: left out (its query form would be JSON)
        self.assertEqual(q, {"top": "3", "return_gradients": "true",
                             "epsilon": "1e-06"})
        with np.load(io.BytesIO(body), allow_pickle=False) as z:
            self.assertEqual(sorted(z.files), ["W1", "X", "Y", "b1", "dW1", "db1",
                                               "request.json"])
            self.assertTrue(np.array_equal(z["X"], X))
            self.assertEqual(z["X"].dtype, np.dtype("<f8"))
            self.assertEqual(z["Y"].dtype, np.dtype("<i8"))
            rest = json.loads(bytes(z["request.json"]))
        self.assertEqual(rest, {"model": {"layer_dims": [2, 1],
                                          "activations": ["sigmoid"],
                                          "loss": "mse"}})

    def test_compressed_bodies_are_deflated(self):
        body, _ = tp.encode_npz({"data": np.zeros((100, 10))}, compress=True)
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            self.assertEqual(z.getinfo("data.npy").compress_type,
                             zipfile.ZIP_DEFLATED)
        self.assertLess(len(body), 8000)

    def test_an_npz_answer_puts_arrays_back_in_place(self):
        buf = io.BytesIO()
        np.savez(buf, W1=np.ones((2, 3)), b1=np.zeros((2, 1)), dW1=np.eye(2),
                 data=np.arange(4.0))
        with zipfile.ZipFile(buf, "a") as z:
            z.writestr("response.json", json.dumps({"seed": 1, "rng": "numpy"}))
        out = tp.decode_npz(buf.getvalue())
        self.assertEqual(out["seed"], 1)
        self.assertEqual(sorted(out["parameters"]), ["W1", "b1"])
        self.assertEqual(out["parameters"]["W1"].shape, (2, 3))
        self.assertTrue(np.array_equal(out["gradients"]["dW1"], np.eye(2)))
        self.assertTrue(np.array_equal(out["data"], np.arange(4.0)))

    def test_a_request_without_arrays_has_no_members(self):
        self.assertFalse(tp.has_array_members({"layer_dims": [2, 3]}))
        self.assertTrue(tp.has_array_members({"data": [[1.0]]}))
