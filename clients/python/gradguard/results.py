"""What the client returns: the service's answer with numpy arrays, each
field as an attribute, and the answer itself as .raw."""
from .transport import float_array


class Result:
    """An answer: every field of the response as an attribute (None when
    the service left it out); .raw is the response dict as received."""

    def __init__(self, raw):
        self.raw = raw

    def __getattr__(self, name):
        if name.startswith("_") or name == "raw":
            raise AttributeError(name)
        return self.raw.get(name)

    def __getitem__(self, key):
        return self.raw[key]

    def __contains__(self, key):
        return key in self.raw

    def __repr__(self):
        keys = ", ".join(sorted(self.raw))
        return "<%s %s>" % (type(self).__name__, keys)


class NormalizeResult(Result):
    """/normalize: session, n_samples_seen, n_features, mean, var, scale
    (float64 arrays), data (float64, NaN for missing cells; transforms
    only), conditioning, warnings, expires_at."""

    def __init__(self, raw):
        super().__init__(raw)
        for k in ("mean", "var", "scale", "data"):
            if k in raw:
                setattr(self, k, float_array(raw[k]))


class SessionResult(NormalizeResult):
    """GET /sessions/{id}: the stored statistics, created_at, updated_at,
    expires_at."""


class InitResult(Result):
    """/init: parameters (dict "W1", "b1", ... of float64 arrays; W<l> has
    shape [n_l, n_(l-1)], b<l> [n_l, 1]), seed, rng, method, distribution,
    mode, layers, diagnosis."""

    def __init__(self, raw):
        super().__init__(raw)
        self.parameters = {k: float_array(v)
                           for k, v in (raw.get("parameters") or {}).items()}

    def __getitem__(self, key):
        if key in self.parameters:
            return self.parameters[key]
        return self.raw[key]


class GradcheckResult(Result):
    """/gradcheck: verdict ("pass", "warn", "suspect", "fail"),
    relative_error, blocks and worst (lists of dicts), cost, epsilon,
    thresholds, n_parameters, n_checked, evaluations, kinks, warnings,
    noise_floor, elapsed_ms, gradients (float64 arrays, with
    return_gradients)."""

    def __init__(self, raw):
        super().__init__(raw)
        grads = raw.get("gradients")
        self.gradients = None if grads is None else {
            k: float_array(v) for k, v in grads.items()}

    @property
    def passed(self):
        return self.raw.get("verdict") == "pass"

    def block(self, name):
        """The blocks entry called name (KeyError when absent)."""
        for b in self.raw.get("blocks") or []:
            if b.get("name") == name:
                return b
        raise KeyError(name)

    def failing_blocks(self):
        """Names of the blocks whose verdict is suspect or fail."""
        return [b["name"] for b in self.raw.get("blocks") or []
                if b.get("verdict") in ("suspect", "fail")]

    def __repr__(self):
        return "<GradcheckResult %s relative_error=%r blocks=%s>" % (
            self.raw.get("verdict"), self.raw.get("relative_error"),
            ",".join("%s:%s" % (b.get("name"), b.get("verdict"))
                     for b in self.raw.get("blocks") or []))
