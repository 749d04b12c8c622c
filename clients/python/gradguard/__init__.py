"""gradguard: a Python client for the gradguard service (normalize inputs,
initialize weights, check gradients).

    from gradguard import Client, check_function, check_sequential
    gg = Client("http://127.0.0.1:8080")
    params = gg.init([784, 64, 10], method="he", seed=1).parameters

Standard library HTTP and numpy; torch only for check_sequential.
"""
from .client import Client
from .errors import GradguardError, ProblemError
from .oracle import OracleServer, check_function
from .results import GradcheckResult, InitResult, NormalizeResult, Result, SessionResult
from .sequential import check_sequential

__version__ = "0.1.0"
__all__ = [
    "Client", "GradguardError", "ProblemError", "OracleServer", "check_function",
    "check_sequential", "GradcheckResult", "InitResult", "NormalizeResult",
    "Result", "SessionResult",
]
