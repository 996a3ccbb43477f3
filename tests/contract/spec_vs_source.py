#!/usr/bin/env python3
"""docs/openapi.yaml against the C++ source, without a server.

1. Error codes: the ErrorCode enum of the spec is exactly the set of wire
   names in src/util/status.cc (InfoOf: Code -> name, HTTP status), minus
   "ok"; every Code of include/kissvdb/status.h has a row there; a code
   written as a literal elsewhere in src/ ({"error", "x"} or
   body["error"] = "x") is one of them.
2. Each error response of components/responses with x-error-codes lists
   exactly the codes of the HTTP status it is used under, and its schema
   narrows Error.error to the same list.
3. Every route the route table (src/api/routes.cc) marks writes=true
   documents 403 (a read-only key gets forbidden there), and every operation
   documents a `default` error response.

Adding a Code: a row in status.cc, its name in ErrorCode, and in the
x-error-codes and enum of the response for its status (a new status needs a
new response in components/responses, used under that status).

Usage: spec_vs_source.py --source-dir .
"""
import argparse
import os
import re
import sys

import yaml

FAILURES = []
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg)


def read(source_dir, rel):
    with open(os.path.join(source_dir, rel)) as f:
        return f.read()


def code_table(source_dir):
    """{"invalid_argument": 400, ...} from InfoOf in src/util/status.cc."""
    text = read(source_dir, "src/util/status.cc")
    rows = re.findall(r'case Code::(k\w+):\s*return \{"(\w+)",\s*(\d+)\}', text)
    if len(rows) < 10:
        fail(f"src/util/status.cc: found only {len(rows)} rows of the code table; did its shape change?")
    enum_body = re.search(r"enum class Code \{(.*?)\};", read(source_dir, "include/kissvdb/status.h"), re.S)
    declared = set(re.findall(r"\b(k[A-Z]\w*)\b", enum_body.group(1))) if enum_body else set()
    for missing in sorted(declared - {r[0] for r in rows}):
        fail(f"Code::{missing} (include/kissvdb/status.h) has no row in src/util/status.cc")
    return {name: int(status) for _, name, status in rows if name != "ok"}


def literal_codes(source_dir):
    """Error codes written as string literals in src/ rather than via CodeName."""
    found = {}
    pattern = re.compile(r'(?:\{\s*"error"\s*,\s*"(\w+)"\s*\}|\["error"\]\s*=\s*"(\w+)")')
    for dirpath, _, files in os.walk(os.path.join(source_dir, "src")):
        for name in files:
            if not name.endswith((".cc", ".h")):
                continue
            path = os.path.join(dirpath, name)
            with open(path) as f:
                code = re.sub(r"//[^\n]*", "", f.read())  # comments quote the shape, not a code
                for m in pattern.finditer(code):
                    found.setdefault(m.group(1) or m.group(2), os.path.relpath(path, source_dir))
    return found


def write_routes(source_dir):
    text = read(source_dir, "src/api/routes.cc")
    rows = re.findall(r'\{Verb::(\w+?)_?,\s*"(/[^"]*)",\s*"[^"]*",\s*(true|false)', text)
    if not rows:
        fail("src/api/routes.cc: no route rows found; did the table's shape change?")
    return [(m.lower(), p) for m, p, w in rows if w == "true"]


def narrowed_enum(response):
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    for sub in schema.get("allOf", []):
        enum = sub.get("properties", {}).get("error", {}).get("enum")
        if enum is not None:
            return enum
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    args = ap.parse_args()
    spec = yaml.safe_load(read(args.source_dir, "docs/openapi.yaml"))
    codes = code_table(args.source_dir)

    # 1. The enum against the table, and literals against the table.
    enum = spec["components"]["schemas"]["ErrorCode"]["enum"]
    if len(enum) != len(set(enum)):
        fail("ErrorCode lists a code twice")
    for c in sorted(set(codes) - set(enum)):
        fail(f"error code '{c}' (HTTP {codes[c]}) is missing from ErrorCode in docs/openapi.yaml")
    for c in sorted(set(enum) - set(codes)):
        fail(f"ErrorCode lists '{c}', which src/util/status.cc does not define")
    for c, where in sorted(literal_codes(args.source_dir).items()):
        if c not in codes:
            fail(f"{where} answers error code '{c}', which is not in src/util/status.cc")

    # 2. Each error response: its status's codes, in x-error-codes and the schema.
    used_under = {}
    for path, item in spec["paths"].items():
        for method in METHODS:
            for status, resp in item.get(method, {}).get("responses", {}).items():
                ref = resp.get("$ref", "")
                if ref.startswith("#/components/responses/"):
                    used_under.setdefault(ref.rsplit("/", 1)[1], set()).add(str(status))
    for name, resp in spec["components"]["responses"].items():
        listed = resp.get("x-error-codes")
        if listed is None:
            continue
        statuses = used_under.get(name, set())
        if len(statuses) > 1:
            fail(f"response {name} is used under several statuses: {sorted(statuses)}")
        if narrowed_enum(resp) != listed:
            fail(f"response {name}: the schema's error enum {narrowed_enum(resp)} differs from x-error-codes {listed}")
        for c in listed:
            if c not in codes:
                fail(f"response {name} lists '{c}', which src/util/status.cc does not define")
        for status in statuses:
            want = sorted(c for c, s in codes.items() if str(s) == status)
            if sorted(listed) != want:
                fail(f"response {name} (HTTP {status}) lists {sorted(listed)}; the server's {status} codes are {want}")
    statuses_covered = {s for n, ss in used_under.items() if "x-error-codes" in spec["components"]["responses"].get(n, {})
                        for s in ss}
    print(f"error responses cover HTTP {sorted(statuses_covered)}; the rest fall under `default`")

    # 3. 403 on every writing route; `default` on every operation.
    for method, path in write_routes(args.source_dir):
        op = spec["paths"].get(path, {}).get(method)
        if op is None:
            fail(f"{method.upper()} {path} writes but is not in docs/openapi.yaml")
        elif op.get("responses", {}).get("403", {}).get("$ref") != "#/components/responses/Forbidden":
            fail(f"{method.upper()} {path} writes (routes.cc) but does not document 403 Forbidden")
    for path, item in spec["paths"].items():
        for method in ("get", "put", "post", "delete", "patch"):
            if method in item and "default" not in item[method].get("responses", {}):
                fail(f"{method.upper()} {path} has no `default` error response")

    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        sys.exit(1)
    print(f"spec vs source: {len(codes)} error codes, {len(write_routes(args.source_dir))} writing routes: all documented")


if __name__ == "__main__":
    main()
