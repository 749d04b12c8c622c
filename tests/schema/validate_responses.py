#!/usr/bin/python3
"""Validates every response the integration tests received against the
OpenAPI document.

  validate_responses.py DIR [DOC]

DIR holds the *.jsonl files tests/lib/harness.c writes when GG_RECORD_DIR
is set: one line per response, {"method", "path", "status",
"content_type", "body"} ("truncated": true instead of "body" for huge
bodies). For each response:

- the route is matched against the document's paths (/sessions/{id}, ...)
  and the status must be documented for it; its body must validate against
  that status's schema (validate_openapi.validate_response);
- a 4xx/5xx must be application/problem+json and a valid Problem, also on
  paths the document does not describe (404 for an unknown route, 401);
- a JSON body must come with the documented media type.

Non-JSON bodies (/metrics text, the /ui files) and HEAD responses are only
checked for a documented status where a route exists; truncated bodies are
skipped. Prints distinct failures (with how often each was seen), then
"N passed, N failed" and exits 1 on any failure.
"""
import collections
import glob
import json
import os
import sys
import warnings

# jsonschema.RefResolver (validate_openapi) is deprecated, not wrong
warnings.filterwarnings("ignore", category=DeprecationWarning)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import validate_openapi as vo  # noqa: E402

PROBLEM = "application/problem+json"
JSON_TYPES = ("application/json", PROBLEM)
# Paths the service serves that the document need not describe: static UI
# files. Anything else answered 2xx must be in the document.
UNDOCUMENTED_PREFIXES = ("/ui",)


def media_type(content_type):
    return (content_type or "").split(";", 1)[0].strip().lower()


def documented_media(doc, method, path, status):
    """The media types documented for (method, path, status), or None when
    the operation or status is not in the document."""
    template, op = vo.find_operation(doc, method, path)
    if op is None:
        return None, None
    responses = op.get("responses", {})
    s = str(status)
    r = responses.get(s) or responses.get(s[0] + "XX") or responses.get("default")
    if r is None:
        return template, None
    return template, list(vo.deref(doc, r).get("content", {}).keys())


def check(doc, rec):
    """A list of errors for one recorded response; None when skipped."""
    method = rec.get("method", "GET").upper()
    path = rec.get("path", "").split("?", 1)[0]
    status = int(rec.get("status", 0))
    ctype = media_type(rec.get("content_type"))
    body = rec.get("body")
    where = "%s %s -> %d" % (method, path, status)
    if rec.get("truncated") or status == 0:
        return None
    errs = []
    lookup = "GET" if method == "HEAD" else method
    template, media = documented_media(doc, lookup, path, status)
    if status >= 400:
        if ctype != PROBLEM:
            errs.append("%s: content type %r, want %s" % (where, ctype, PROBLEM))
        if method != "HEAD":
            try:
                instance = json.loads(body or "")
            except ValueError as e:
                return errs + ["%s: problem body is not JSON: %s" % (where, e)]
            schema = {"$ref": "#/components/schemas/Problem"}
            if template is not None and media is not None:
                errs += ["%s: %s" % (where, e) for e in
                         vo.validate_response(doc, lookup, path, status, body)]
            else:
                errs += ["%s: %s" % (where, e) for e in
                         vo.errors_of(doc, schema, instance)]
            if isinstance(instance, dict) and instance.get("status") != status:
                errs.append("%s: problem status %r differs from HTTP status"
                            % (where, instance.get("status")))
        if template is not None and media is None:
            errs.append("%s: status %d is not documented for %s %s"
                        % (where, status, lookup, template))
        return errs
    if template is None:
        if path.startswith(UNDOCUMENTED_PREFIXES) or (status in (301, 302, 307, 308)):
            return None
        return ["%s: no operation %s %s in the document" % (where, lookup, path)]
    if media is None:
        return ["%s: status %d is not documented for %s %s" % (where, status, lookup, template)]
    if method == "HEAD":
        return errs
    if media and ctype not in [media_type(m) for m in media]:
        errs.append("%s: content type %r is not documented (%s)"
                    % (where, ctype, ", ".join(media)))
    if ctype not in JSON_TYPES:
        return errs
    errs += ["%s: %s" % (where, e) for e in
             vo.validate_response(doc, lookup, path, status, body or "")]
    return errs


# Recordings the validator must judge as shown (True: valid), checked
# before every run so that a validator that passes everything fails.
SELF_TEST = [
    (True, {"method": "GET", "path": "/healthz", "status": 200,
            "content_type": "application/json", "body": '{"status":"ok"}'}),
    (False, {"method": "POST", "path": "/normalize", "status": 200,
             "content_type": "application/json", "body": '{"session":"x"}'}),
    (False, {"method": "GET", "path": "/sessions/x", "status": 404,
             "content_type": "application/json",
             "body": '{"type":"/problems/session-not-found","title":"t",'
                     '"status":404,"detail":"d","instance":"i","errors":[]}'}),
    (False, {"method": "GET", "path": "/sessions/x", "status": 418,
             "content_type": PROBLEM,
             "body": '{"type":"/problems/x","title":"t","status":418,'
                     '"detail":"d","instance":"i","errors":[]}'}),
    (False, {"method": "GET", "path": "/nowhere", "status": 404,
             "content_type": PROBLEM, "body": '{"status":404}'}),
]


def self_test(doc):
    ok = True
    for want, rec in SELF_TEST:
        errs = check(doc, rec)
        if (not errs) != want:
            print("FAIL: validator self-test: %s %s %d judged %s" %
                  (rec["method"], rec["path"], rec["status"],
                   "invalid: %s" % errs if errs else "valid"))
            ok = False
    return ok


def main(argv):
    doc, status = vo.load_for(argv, __doc__, self_test)
    if doc is None:
        return status
    files = sorted(glob.glob(os.path.join(argv[1], "*.jsonl")))
    passed = failed = skipped = 0
    seen = collections.Counter()
    first = {}
    for name in files:
        with open(name, "rb") as f:
            for n, raw in enumerate(f, 1):
                try:
                    rec = json.loads(raw.decode("utf-8", "replace"))
                except ValueError as e:
                    failed += 1
                    seen["%s line %d: not JSON: %s" % (name, n, e)] += 1
                    continue
                errs = check(doc, rec)
                if errs is None:
                    skipped += 1
                elif errs:
                    failed += 1
                    for e in errs:
                        # one line per distinct problem: a session id or a
                        # request id in the path would make each unique
                        key = e if len(e) < 400 else e[:400] + "..."
                        seen[key] += 1
                        first.setdefault(key, name)
                else:
                    passed += 1
    for e, count in sorted(seen.items(), key=lambda kv: -kv[1]):
        print("FAIL (%dx): %s" % (count, e))
    print("responses in %s: %d files, %d skipped (not JSON or truncated)"
          % (argv[1], len(files), skipped))
    if not files:
        print("FAIL: no recorded responses (was GG_RECORD_DIR set?)")
        failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
