"""check_sequential: a torch nn.Sequential of Linear layers and activations
checked by the service's model source. torch is imported only here."""
import numpy as np

from .client import Client
from .transport import as_array

LOSSES = {
    "binary_cross_entropy": "binary_cross_entropy", "bce": "binary_cross_entropy",
    "categorical_cross_entropy": "categorical_cross_entropy",
    "cce": "categorical_cross_entropy", "cross_entropy": "categorical_cross_entropy",
    "mse": "mse",
}


def _activation(layer, last):
    """The service's name for a torch activation module, or ValueError."""
    import torch.nn as nn
    if isinstance(layer, nn.ReLU):
        return "relu"
    if isinstance(layer, nn.LeakyReLU):
        if layer.negative_slope != 0.01:
            raise ValueError("LeakyReLU: the service's leaky_relu has slope 0.01, "
                             "not %r" % layer.negative_slope)
        return "leaky_relu"
    if isinstance(layer, nn.Tanh):
        return "tanh"
    if isinstance(layer, nn.Sigmoid):
        return "sigmoid"
    if isinstance(layer, nn.Identity):
        return "linear"
    if isinstance(layer, nn.Softmax):
        if not last:
            raise ValueError("Softmax is supported on the last layer only")
        if layer.dim not in (1, -1):
            raise ValueError("Softmax must be over the features (dim=1 or -1)")
        return "softmax"
    raise ValueError("unsupported module %s: use Linear, ReLU, LeakyReLU(0.01), "
                     "Tanh, Sigmoid, Identity or a last Softmax" % type(layer).__name__)


def sequential_model(module):
    """(linears, activations): the Linear layers of an nn.Sequential and the
    service's activation name after each (Identity or none: "linear")."""
    import torch.nn as nn
    layers = list(module)
    linears, acts = [], []
    open_ = False   # the last Linear has no activation yet
    for i, layer in enumerate(layers):
        if isinstance(layer, nn.Linear):
            linears.append(layer)
            acts.append("linear")
            open_ = True
        elif not linears:
            raise ValueError("the Sequential must start with a Linear layer")
        elif not open_:
            raise ValueError("one activation per Linear layer (module %d)" % i)
        else:
            last = all(not isinstance(m, nn.Linear) for m in layers[i + 1:])
            acts[-1] = _activation(layer, last)
            open_ = False
    if not linears:
        raise ValueError("no Linear layer in the module")
    return linears, acts


def _one_hot(Y, classes):
    """One-hot rows from integer class labels (m, [m, 1] or [1, m]); other
    targets as float64."""
    Y = np.asarray(Y)
    if Y.dtype.kind in "iu" and Y.ndim == 2 and 1 in Y.shape and classes > 1:
        Y = Y.ravel()
    if Y.ndim == 1 and Y.dtype.kind in "iu":
        out = np.zeros((Y.shape[0], classes))
        out[np.arange(Y.shape[0]), Y] = 1.0
        return out
    return Y.astype(np.float64)


def model_cost(linears, acts, loss, X, Y, l2=0.0):
    """The service's cost J (float64 torch tensors): the network on X
    (samples in rows), loss summed over outputs and averaged over the m
    samples, plus l2/(2m) times the squared weights."""
    import torch
    a = X
    for layer, act in zip(linears, acts):
        z = a @ layer[0].T + layer[1]
        if act == "relu":
            a = torch.relu(z)
        elif act == "leaky_relu":
            a = torch.nn.functional.leaky_relu(z, 0.01)
        elif act == "tanh":
            a = torch.tanh(z)
        elif act == "sigmoid":
            a = torch.sigmoid(z)
        elif act == "softmax":
            a = torch.softmax(z, dim=1)
        else:
            a = z
    m = X.shape[0]
    if loss == "binary_cross_entropy":
        J = -(Y * torch.log(a) + (1 - Y) * torch.log(1 - a)).sum() / m
    elif loss == "categorical_cross_entropy":
        J = -(Y * torch.log(a)).sum() / m
    else:
        J = ((a - Y) ** 2).sum() / (2 * m)
    if l2:
        J = J + l2 / (2 * m) * sum((w ** 2).sum() for w, _ in linears)
    return J


def check_sequential(module, X, Y, loss, client=None, url=None, gradients=None,
                     l2=0.0, **fields):
    """Checks the gradients of an nn.Sequential through the service's model
    source.

    module: Linear layers, each followed by at most one of ReLU,
    LeakyReLU(0.01), Tanh, Sigmoid, Identity, and Softmax (last layer, with
    categorical cross-entropy). W<l> is the l-th Linear's weight, b<l> its
    bias (zeros when it has none). X: samples in rows (torch's layout); Y:
    targets in rows, or integer class labels for categorical cross-entropy.
    loss: "binary_cross_entropy" ("bce"), "categorical_cross_entropy"
    ("cce", "cross_entropy") or "mse", with the service's definitions (see
    model_cost; mse is (1/2m) sum (a - y)^2, not torch's MSELoss mean).
    gradients: your own {"dW1": ..., "db1": ...}; when None they are
    computed by torch autograd of that cost, in float64. fields: epsilon,
    thresholds, check, top, deadline_ms, return_gradients.
    Returns a GradcheckResult.
    """
    import torch
    if loss not in LOSSES:
        raise ValueError("loss must be one of %s" % sorted(LOSSES))
    loss = LOSSES[loss]
    if client is None:
        client = Client(url or "http://127.0.0.1:8080")
    linears, acts = sequential_model(module)
    if loss == "categorical_cross_entropy" and acts[-1] != "softmax":
        raise ValueError("categorical cross-entropy needs a last nn.Softmax(dim=1) "
                         "(the service's cost takes probabilities)")
    if acts[-1] == "softmax" and loss != "categorical_cross_entropy":
        raise ValueError("a last Softmax goes with categorical cross-entropy")
    dims = [linears[0].in_features] + [lin.out_features for lin in linears]
    X = np.asarray(as_array(X), dtype=np.float64)
    Y = as_array(Y)
    if loss == "categorical_cross_entropy":
        Y = _one_hot(Y, dims[-1])
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)

    params = []
    for lin in linears:
        W = lin.weight.detach().to(torch.float64).clone()
        b = (lin.bias.detach().to(torch.float64).clone() if lin.bias is not None
             else torch.zeros(lin.out_features, dtype=torch.float64))
        params.append((W, b))
    if gradients is None:
        for W, b in params:
            W.requires_grad_(True)
            b.requires_grad_(True)
        J = model_cost(params, acts, loss, torch.from_numpy(X), torch.from_numpy(Y), l2)
        J.backward()
        gradients = {}
        for i, (W, b) in enumerate(params, 1):
            gradients["dW%d" % i] = W.grad.numpy()
            gradients["db%d" % i] = b.grad.numpy()
    parameters = {}
    for i, (W, b) in enumerate(params, 1):
        parameters["W%d" % i] = W.detach().numpy()
        parameters["b%d" % i] = b.detach().numpy()
    model = {"layer_dims": dims, "activations": acts, "loss": loss}
    if l2:
        model["l2"] = float(l2)
    return client.gradcheck(model=model, parameters=parameters, X=X, Y=Y,
                            gradients={k: as_array(v) for k, v in gradients.items()},
                            **fields)
