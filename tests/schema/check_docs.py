#!/usr/bin/python3
"""Keeps docs/API.md and schemas/openapi.json in step.

  check_docs.py [DOC.md] [OPENAPI.json]

- Every field the OpenAPI document names (each "properties" key of every
  schema, request and response alike, and every query parameter) must be
  named in the docs, in code (`field`, or inside a code span or block).
- Every field the docs list in the first column of a field table (a table
  whose first header cell is "field", "member" or "message member") must
  exist in the OpenAPI document.
- Every relative link of every Markdown file in the repository resolves to
  a file or directory inside it (a clone has nothing beside it), anchors
  into docs/API.md included.
Prints each mismatch, then "N passed, N failed"; exits 1 on any failure.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DOCS = os.path.join(ROOT, "docs", "API.md")
OPENAPI = os.path.join(ROOT, "schemas", "openapi.json")

TABLE_HEADS = ("field", "member", "message member")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# names with dots too (a member or query parameter like request.json)
DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+")


def schema_fields(doc):
    """Every property name and query parameter name in the document."""
    names = set()

    def walk(node):
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(props)
            if node.get("in") == "query" and isinstance(node.get("name"), str):
                names.add(node["name"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(doc)
    return names


def code_identifiers(text):
    """Identifiers inside code: fenced blocks and `spans`."""
    names = set()
    rest = re.sub(r"```.*?```", "", text, flags=re.S)
    code = re.findall(r"```.*?\n(.*?)```", text, re.S) + \
        re.findall(r"`([^`]+)`", rest)   # spans may wrap lines
    for part in code:
        names.update(IDENT.findall(part))
        names.update(DOTTED.findall(part))
    return names


def table_fields(text):
    """(name, line number) for each backticked name in the first cell of the
    rows of field tables."""
    out = []
    in_table = False
    for n, line in enumerate(text.split("\n"), 1):
        s = line.strip()
        if not s.startswith("|"):
            in_table = False
            continue
        cells = [c.strip() for c in s.strip("|").split("|")]
        if not in_table:
            if cells and cells[0].lower() in TABLE_HEADS:
                in_table = "header"
            else:
                in_table = "other"
            continue
        if in_table == "other" or set(s) <= set("|-: "):
            continue
        for name in re.findall(r"`([^`]+)`", cells[0]):
            if IDENT.fullmatch(name):
                out.append((name, n))
    return out


def compare(text, doc):
    """A list of mismatches (empty: in step)."""
    errs = []
    fields = schema_fields(doc)
    named = code_identifiers(text)
    for f in sorted(fields - named):
        errs.append("field %r is in the OpenAPI document but not in the docs" % f)
    for name, line in table_fields(text):
        if name not in fields:
            errs.append("docs line %d: field %r is not in the OpenAPI document"
                        % (line, name))
    return errs


SKIP_DIRS = {".git", "build", "node_modules", "var", "__pycache__"}
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(text):
    """GitHub's anchors for the headings of a Markdown text."""
    out = set()
    for h in re.findall(r"^#+ (.*)$", text, re.M):
        a = re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
        out.add(a)
    return out


def check_links(root):
    """(links checked, errors) over every *.md under root."""
    errs, n = [], 0
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x not in SKIP_DIRS]
        for f in files:
            if not f.endswith(".md"):
                continue
            path = os.path.join(d, f)
            with open(path, encoding="utf-8") as fh:
                text = re.sub(r"```.*?```", "", fh.read(), flags=re.S)
            for target in LINK.findall(text):
                if re.match(r"[a-z]+:", target):
                    continue    # http(s), mailto: outside links are fine
                n += 1
                where = os.path.relpath(path, root)
                file_part, _, anchor = target.partition("#")
                dest = os.path.normpath(os.path.join(d, file_part)) if file_part else path
                if os.path.relpath(dest, root).startswith(".."):
                    errs.append("%s: link %s leaves the repository" % (where, target))
                elif not os.path.exists(dest):
                    errs.append("%s: link %s points at nothing" % (where, target))
                elif anchor and dest.endswith(".md"):
                    with open(dest, encoding="utf-8") as fh:
                        if anchor not in anchors(fh.read()):
                            errs.append("%s: link %s: no such heading" % (where, target))
    return n, errs


def self_test(doc):
    """A doc that misses a field and names an unknown one must fail twice."""
    text = ("| field | meaning |\n|---|---|\n| `op` | x |\n| `nonsense` | y |\n")
    errs = compare(text, doc)
    return any("'nonsense' is not in" in e for e in errs) and \
        any("'layer_dims' is in the OpenAPI" in e for e in errs)


def main(argv):
    docs = argv[1] if len(argv) > 1 else DOCS
    with open(argv[2] if len(argv) > 2 else OPENAPI, encoding="utf-8") as f:
        doc = json.load(f)
    if not self_test(doc):
        print("FAIL: check_docs self-test")
        print("0 passed, 1 failed")
        return 1
    with open(docs, encoding="utf-8") as f:
        text = f.read()
    errs = compare(text, doc)
    n_links, link_errs = check_links(ROOT)
    errs += link_errs
    for e in errs:
        print("FAIL: " + e)
    checked = len(schema_fields(doc)) + len(table_fields(text)) + n_links
    print("%d passed, %d failed" % (checked - len(errs), len(errs)))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
