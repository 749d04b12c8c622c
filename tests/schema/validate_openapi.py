#!/usr/bin/python3
"""Checks schemas/openapi.json and validates bodies against it.

  validate_openapi.py [DOC]                      check the document itself
  validate_openapi.py response METHOD PATH STATUS FILE [DOC]
  validate_openapi.py request METHOD PATH FILE [DOC]

The document check: valid JSON, OpenAPI 3.1 shape, every $ref resolves, every
schema is a valid JSON Schema 2020-12 schema, every example (and every
default) validates against its schema, every 4xx/5xx response is a problem
document. Prints "N passed, N failed"; exits non-zero on any failure.
Needs Debian's python3-jsonschema (apt-get install python3-jsonschema).
"""
import json
import os
import re
import sys

import jsonschema
from jsonschema import Draft202012Validator

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DOC = os.path.normpath(os.path.join(HERE, "..", "..", "schemas", "openapi.json"))
REF_PROBLEM = {"$ref": "#/components/schemas/Problem"}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: " + what)
        return ok

    def summary(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


def load(path):
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def load_for(argv, usage, self_test):
    """(document, None) for a recording validator's main(argv) (argv[1]: the
    recordings, argv[2]: an optional document), or (None, exit status):
    2 with the usage printed when argv is short, 1 when self_test(doc),
    the validator's check of itself, fails."""
    if len(argv) < 2:
        print(usage)
        return None, 2
    doc = load(argv[2] if len(argv) > 2 else DEFAULT_DOC)
    if not self_test(doc):
        print("0 passed, 1 failed")
        return None, 1
    return doc, None


def unescape(token):
    return token.replace("~1", "/").replace("~0", "~")


def resolve_pointer(doc, ref):
    """The value at a local reference "#/a/b", or KeyError."""
    if not ref.startswith("#"):
        raise KeyError("not a local reference: " + ref)
    node = doc
    for token in [unescape(t) for t in ref[1:].split("/")[1:]]:
        if isinstance(node, list):
            node = node[int(token)]
        elif isinstance(node, dict):
            node = node[token]
        else:
            raise KeyError(ref)
    return node


def walk(node, path=""):
    """Yields (json-pointer, value) for every node."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, path + "/" + k.replace("~", "~0").replace("/", "~1"))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, "%s/%d" % (path, i))


def deref(doc, node):
    """node, or what its $ref points to ({} when that does not resolve: the
    $ref check reports it)."""
    while isinstance(node, dict) and "$ref" in node and len(node) <= 3:
        try:
            node = resolve_pointer(doc, node["$ref"])
        except (KeyError, ValueError, IndexError):
            return {}
    return node


def validator_for(doc, schema):
    resolver = jsonschema.RefResolver(base_uri="", referrer=doc)
    return Draft202012Validator(schema, resolver=resolver)


def errors_of(doc, schema, instance):
    v = validator_for(doc, schema)
    try:
        return ["%s: %s" % ("/" + "/".join(str(p) for p in e.absolute_path), e.message)
                for e in v.iter_errors(instance)]
    except (jsonschema.exceptions.RefResolutionError, KeyError) as e:
        return ["unresolvable reference: %s" % e]


# ---- the document --------------------------------------------------------------

def media_objects(doc):
    """(where, media-type object) for every request and response body,
    callbacks included."""
    def from_operation(where, op):
        rb = deref(doc, op.get("requestBody", {}))
        for mt, m in rb.get("content", {}).items():
            yield "%s request %s" % (where, mt), m
        for status, r in op.get("responses", {}).items():
            r = deref(doc, r)
            for mt, m in r.get("content", {}).items():
                yield "%s %s %s" % (where, status, mt), m
        for name, cb in op.get("callbacks", {}).items():
            for expr, item in deref(doc, cb).items():
                for method in METHODS:
                    if method in item:
                        yield from from_operation(
                            "%s callback %s %s" % (where, name, method.upper()),
                            item[method])

    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield from from_operation("%s %s" % (method.upper(), path), item[method])


def schema_nodes(doc):
    """(where, schema) for every top-level schema the document holds."""
    for name, s in doc.get("components", {}).get("schemas", {}).items():
        yield "#/components/schemas/" + name, s
    for where, m in media_objects(doc):
        if "schema" in m:
            yield where, m["schema"]
    for name, h in doc.get("components", {}).get("headers", {}).items():
        yield "header " + name, h.get("schema", {})
    for name, p in doc.get("components", {}).get("parameters", {}).items():
        yield "parameter " + name, p.get("schema", {})


def subschemas_with(schema, key):
    """Every (sub)schema dict of a schema that has `key` as a keyword."""
    stack = [schema]
    while stack:
        s = stack.pop()
        if not isinstance(s, dict):
            continue
        if key in s:
            yield s
        for k in ("properties", "patternProperties", "$defs"):
            stack.extend(s.get(k, {}).values())
        for k in ("items", "additionalProperties", "not", "if", "then", "else",
                  "contains", "propertyNames", "unevaluatedProperties"):
            if isinstance(s.get(k), dict):
                stack.append(s[k])
        for k in ("allOf", "anyOf", "oneOf", "prefixItems"):
            stack.extend(s.get(k, []))


def check_document(doc, t):
    t.check(isinstance(doc, dict) and str(doc.get("openapi", "")).startswith("3.1."),
            "openapi must be 3.1.x")
    t.check(doc.get("jsonSchemaDialect") == "https://json-schema.org/draft/2020-12/schema",
            "jsonSchemaDialect must be JSON Schema 2020-12")
    info = doc.get("info", {})
    t.check(bool(info.get("title")) and bool(info.get("version")), "info.title/version")
    t.check(isinstance(doc.get("paths"), dict) and doc["paths"], "paths must be non-empty")

    # every $ref resolves
    for where, node in walk(doc):
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            try:
                resolve_pointer(doc, node["$ref"])
                ok = True
            except (KeyError, ValueError, IndexError):
                ok = False
            t.check(ok, "%s: $ref %s does not resolve" % (where, node["$ref"]))

    # every schema is a valid 2020-12 schema
    for where, s in schema_nodes(doc):
        try:
            Draft202012Validator.check_schema(s)
            ok, why = True, ""
        except jsonschema.exceptions.SchemaError as e:
            ok, why = False, e.message
        t.check(ok, "%s: invalid schema: %s" % (where, why))

    # every operation: responses, a 200/2xx, X-Request-Id, problem+json errors
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            where = "%s %s" % (method.upper(), path)
            t.check(bool(op.get("operationId")), where + ": operationId")
            responses = op.get("responses", {})
            t.check(any(s.startswith("2") for s in responses), where + ": a 2xx response")
            for status, r in responses.items():
                r = deref(doc, r)
                t.check("X-Request-Id" in r.get("headers", {}),
                        "%s %s: X-Request-Id header" % (where, status))
                if status[0] in "45":
                    m = r.get("content", {}).get("application/problem+json")
                    t.check(m is not None and m.get("schema") ==
                            {"$ref": "#/components/schemas/Problem"},
                            "%s %s: must be application/problem+json Problem" % (where, status))
            if "405" in responses:
                t.check("Allow" in deref(doc, responses["405"]).get("headers", {}),
                        where + " 405: Allow header")
            if "429" in responses:
                t.check("Retry-After" in deref(doc, responses["429"]).get("headers", {}),
                        where + " 429: Retry-After header")
            rb = deref(doc, op.get("requestBody", {}))
            for mt, m in rb.get("content", {}).items():
                s = deref(doc, m.get("schema", {}))
                branches = [deref(doc, b) for b in s.get("oneOf", [s])]
                t.check(s.get("format") == "binary" or
                        all(b.get("additionalProperties") is False for b in branches),
                        "%s request: additionalProperties must be false" % where)

    # the problem types are exactly the kinds of handlers/problem.h
    header = os.path.join(os.path.dirname(DEFAULT_DOC), "..", "handlers", "problem.h")
    if os.path.exists(header):
        with open(header) as f:
            slugs = re.findall(r'X\(PROB_\w+,\s*[1-9]\d*,\s*"([a-z-]+)"', f.read())
        enum = deref(doc, REF_PROBLEM).get("properties", {}).get("type", {}).get("enum", [])
        t.check(sorted("/problems/" + x for x in slugs) == sorted(enum),
                "Problem.type enum differs from handlers/problem.h: %s" %
                sorted(set(enum) ^ set("/problems/" + x for x in slugs)))

    # every example validates against its schema
    n_examples = 0
    for where, m in media_objects(doc):
        schema = m.get("schema")
        if schema is None:
            continue
        examples = []
        if "example" in m:
            examples.append(("example", m["example"]))
        for name, ex in m.get("examples", {}).items():
            ex = deref(doc, ex)
            examples.append((name, ex.get("value")))
        t.check(bool(examples) or "text/plain" in where or
                deref(doc, schema).get("format") == "binary",
                "%s: needs at least one example" % where)
        for name, value in examples:
            n_examples += 1
            if isinstance(schema, dict) and schema.get("type") == "string":
                t.check(isinstance(value, str), "%s example %s: a string" % (where, name))
                continue
            errs = errors_of(doc, schema, value)
            t.check(not errs, "%s example %s: %s" % (where, name, "; ".join(errs)))
    for sect in ("headers", "parameters"):
        for name, h in doc.get("components", {}).get(sect, {}).items():
            if "example" in h:
                errs = errors_of(doc, h.get("schema", {}), h["example"])
                t.check(not errs, "%s %s example: %s" % (sect, name, "; ".join(errs)))
    t.check(n_examples > 0, "the document has examples")

    # every default is valid for the schema it sits in
    for where, s in schema_nodes(doc):
        for sub in subschemas_with(s, "default"):
            errs = errors_of(doc, sub, sub["default"])
            t.check(not errs, "%s: default %r: %s" % (where, sub["default"], "; ".join(errs)))


# ---- bodies against the document -------------------------------------------------

def find_operation(doc, method, path):
    path = path.split("?", 1)[0]
    for template, item in doc.get("paths", {}).items():
        rx = "^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(rx, path) and method.lower() in item:
            return template, item[method.lower()]
    return None, None


def pick_media(content):
    for mt in ("application/json", "application/problem+json"):
        if mt in content:
            return mt, content[mt]
    mt = next(iter(content))
    return mt, content[mt]


def validate_response(doc, method, path, status, body_text):
    """A list of errors (empty: valid) for a response body."""
    template, op = find_operation(doc, method, path)
    if op is None:
        return ["no operation %s %s in the document" % (method, path)]
    responses = op.get("responses", {})
    status = str(status)
    r = responses.get(status) or responses.get(status[0] + "XX") or responses.get("default")
    if r is None:
        return ["%s %s: status %s is not documented" % (method, template, status)]
    content = deref(doc, r).get("content", {})
    if not content:
        return [] if not body_text.strip() else ["%s %s %s: expected no body" %
                                                 (method, template, status)]
    mt, m = pick_media(content)
    if mt.startswith("text/"):
        return [] if body_text else ["%s %s %s: empty body" % (method, template, status)]
    try:
        instance = json.loads(body_text)
    except ValueError as e:
        return ["%s %s %s: body is not JSON: %s" % (method, template, status, e)]
    return errors_of(doc, m.get("schema", {}), instance)


def validate_request(doc, method, path, body_text):
    template, op = find_operation(doc, method, path)
    if op is None:
        return ["no operation %s %s in the document" % (method, path)]
    content = deref(doc, op.get("requestBody", {})).get("content", {})
    if "application/json" not in content:
        return ["%s %s takes no JSON body" % (method, template)]
    try:
        instance = json.loads(body_text)
    except ValueError as e:
        return ["body is not JSON: %s" % e]
    return errors_of(doc, content["application/json"].get("schema", {}), instance)


def main(argv):
    t = Tally()
    if len(argv) >= 2 and argv[1] in ("response", "request"):
        need = 6 if argv[1] == "response" else 5
        if len(argv) < need:
            print(__doc__)
            return 2
        doc = load(argv[need] if len(argv) > need else DEFAULT_DOC)
        with open(argv[need - 1], "rb") as f:
            text = f.read().decode("utf-8")
        if argv[1] == "response":
            errs = validate_response(doc, argv[2], argv[3], argv[4], text)
        else:
            errs = validate_request(doc, argv[2], argv[3], text)
        for e in errs:
            print("  " + e)
        t.check(not errs, "%s %s %s" % (argv[1], argv[2], argv[3]))
        return t.summary()
    path = argv[1] if len(argv) > 1 else DEFAULT_DOC
    try:
        doc = load(path)
    except (OSError, ValueError) as e:
        t.check(False, "%s: not valid JSON: %s" % (path, e))
        return t.summary()
    t.check(True, "valid JSON")
    check_document(doc, t)
    return t.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
