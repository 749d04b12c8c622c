"""The one exception type the client raises for an answer that is not 2xx."""


class GradguardError(Exception):
    """An RFC 9457 problem the service answered (or one made from a non-JSON
    error answer).

    Attributes: type (e.g. "/problems/shape-mismatch"), status (HTTP status),
    title, detail, errors (list of {"pointer", "detail"}), request_id (the
    problem's "instance", else the X-Request-Id header), retry_after
    (seconds, from a 429), problem (the whole problem dict).
    """

    def __init__(self, problem, status=None, request_id=None, retry_after=None):
        problem = dict(problem or {})
        self.problem = problem
        self.status = int(problem.get("status") or status or 0)
        self.type = problem.get("type", "about:blank")
        self.title = problem.get("title", "")
        self.detail = problem.get("detail", "")
        self.errors = list(problem.get("errors") or [])
        self.request_id = problem.get("instance") or request_id
        self.retry_after = retry_after
        super().__init__(self._message())

    def _message(self):
        text = "%d %s" % (self.status, self.type)
        if self.detail:
            text += ": " + self.detail
        elif self.title:
            text += ": " + self.title
        return text

    @property
    def pointers(self):
        """The JSON Pointers of every offending field."""
        return [e.get("pointer") for e in self.errors]


# The name the issue also uses for it.
ProblemError = GradguardError
