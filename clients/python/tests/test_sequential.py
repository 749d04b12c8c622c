"""check_sequential: an nn.Sequential mapped onto the model source (skipped
without torch)."""
import unittest

import numpy as np

import gradguard
from support import client

try:
    import torch
    import torch.nn as nn
except ImportError:   # torch is optional
    torch = None


@unittest.skipIf(torch is None, "torch is not installed (apt-get install python3-torch)")
class CheckSequential(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.X = torch.randn(8, 4)

    def test_autograd_gradients_pass_and_match_the_services_own(self):
        net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3), nn.Softmax(dim=1))
        y = torch.randint(0, 3, (8,))
        r = gradguard.check_sequential(net, self.X, y, loss="categorical_cross_entropy",
                                       client=client(), l2=0.3, return_gradients=True)
        self.assertEqual(r.verdict, "pass")
        self.assertEqual([b["name"] for b in r.blocks], ["W1", "b1", "W2", "b2"])
        # torch autograd (the client) and the service's back-propagation agree
        params = [p.detach().double().requires_grad_() for p in net.parameters()]
        lin = [(params[0], params[1]), (params[2], params[3])]
        Y = torch.nn.functional.one_hot(y, 3).double()
        J = gradguard.sequential.model_cost(lin, ["tanh", "softmax"],
                                            "categorical_cross_entropy",
                                            self.X.double(), Y, 0.3)
        J.backward()
        np.testing.assert_allclose(r.gradients["dW1"], params[0].grad.numpy(),
                                   rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(r.gradients["db2"].ravel(), params[3].grad.numpy(),
                                   rtol=1e-10, atol=1e-14)

    def test_integer_labels_in_a_column_are_one_hot_encoded(self):
        net = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
        y = torch.randint(0, 3, (8, 1))
        r = gradguard.check_sequential(net, self.X, y, loss="cce", client=client())
        self.assertEqual(r.verdict, "pass")
        self.assertEqual(r.n_parameters, 15)

    def test_every_supported_activation_maps(self):
        net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 5),
                            nn.LeakyReLU(0.01), nn.Linear(5, 4), nn.Identity(),
                            nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1), nn.Sigmoid())
        lin, acts = gradguard.sequential.sequential_model(net)
        self.assertEqual(acts, ["relu", "leaky_relu", "linear", "tanh", "sigmoid"])
        self.assertEqual(len(lin), 5)
        Y = (torch.rand(8, 1) > 0.5).double()
        r = gradguard.check_sequential(net, self.X, Y, loss="bce", client=client())
        self.assertEqual(r.verdict, "pass")

    def test_a_user_gradient_with_a_bug_fails_on_its_layer(self):
        net = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 2))
        Y = torch.randn(8, 2)
        own = client().gradcheck(
            model={"layer_dims": [4, 3, 2], "activations": ["sigmoid", "linear"],
                   "loss": "mse"},
            parameters={"W1": net[0].weight, "b1": net[0].bias,
                        "W2": net[2].weight, "b2": net[2].bias},
            X=self.X, Y=Y, return_gradients=True).gradients
        own["dW2"] = own["dW2"].T.reshape(own["dW2"].shape)   # a transposed gradient
        r = gradguard.check_sequential(net, self.X, Y, loss="mse", client=client(),
                                       gradients=own)
        self.assertEqual(r.failing_blocks(), ["W2"])

    def test_a_layer_without_bias_is_checked_with_zeros(self):
        net = nn.Sequential(nn.Linear(4, 2, bias=False))
        r = gradguard.check_sequential(net, self.X, torch.randn(8, 2), loss="mse",
                                       client=client())
        self.assertEqual(r.verdict, "pass")

    def test_unsupported_modules_are_refused_before_any_request(self):
        bad = [nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5)),
               nn.Sequential(nn.Linear(4, 2), nn.LeakyReLU(0.2)),
               nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1), nn.Linear(3, 2)),
               nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Tanh()),
               nn.Sequential(nn.ReLU(), nn.Linear(4, 3))]
        for net in bad:
            with self.assertRaises(ValueError, msg=str(net)):
                gradguard.check_sequential(net, self.X, torch.randn(8, 2), loss="mse",
                                           url="http://127.0.0.1:1")
        with self.assertRaises(ValueError):   # CE needs probabilities
            gradguard.check_sequential(nn.Sequential(nn.Linear(4, 3)), self.X,
                                       torch.zeros(8, dtype=torch.long), loss="cce",
                                       url="http://127.0.0.1:1")
