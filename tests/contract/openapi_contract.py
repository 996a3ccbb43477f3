#!/usr/bin/env python3
"""Contract test: docs/openapi.yaml against the real server.

1. Every route in the server's route tables (src/api/routes.cc,
   src/http/builtin_routes.cc, src/api/web.cc) is documented, and every
   documented operation exists on the server.
2. Every documented operation is called with its example request (path and
   query examples, requestBody example). Operations run in document order,
   deletes last; an operation that answers 404/409 because another one has
   not created its data yet is retried after the others. In the end each must
   answer 2xx, with a status the spec documents and a body that validates
   against the documented schema (OpenAPI 3.0 subset: type, nullable,
   required, properties, items, enum, oneOf/anyOf/allOf, $ref). A non-JSON
   answer (the dashboard's HTML, the YAML spec, assets) must carry one of
   the documented content types and a non-empty body.
3. Every documented error status that is easy to provoke without data is
   checked for the error shape: an unauthenticated call gets 401 JSON.

Usage: openapi_contract.py --binary build/kissvdb --source-dir .
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg)


class Spec:
    def __init__(self, doc):
        self.doc = doc

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/"), ref
            cur = self.doc
            for part in ref[2:].split("/"):
                cur = cur[part]
            node = cur
        return node

    def validate(self, value, schema, path="$"):
        schema = self.resolve(schema)
        if not schema:
            return []
        errors = []
        if value is None:
            if schema.get("nullable") or "type" not in schema and not any(
                    k in schema for k in ("properties", "items", "oneOf", "anyOf", "allOf", "enum")):
                return []
            return [f"{path}: null where the schema does not allow it"]
        for sub in schema.get("allOf", []):
            errors += self.validate(value, sub, path)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                if not any(not self.validate(value, sub, path) for sub in schema[key]):
                    errors.append(f"{path}: matches none of {key}")
        t = schema.get("type")
        checks = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
        }
        if t and not checks[t](value):
            return errors + [f"{path}: expected {t}, got {type(value).__name__} {json.dumps(value)[:80]}"]
        if "enum" in schema and value not in schema["enum"]:
            errors.append(f"{path}: {value!r} not in {schema['enum']}")
        if isinstance(value, dict):
            for req in schema.get("required", []):
                if req not in value:
                    errors.append(f"{path}: missing required field '{req}'")
            for name, sub in schema.get("properties", {}).items():
                if name in value:
                    errors += self.validate(value[name], sub, f"{path}.{name}")
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value[:50]):
                errors += self.validate(item, schema["items"], f"{path}[{i}]")
        return errors


def server_routes(source_dir):
    routes = set()
    for rel in ("src/api/routes.cc", "src/http/builtin_routes.cc", "src/api/web.cc"):
        text = open(os.path.join(source_dir, rel)).read()
        for method, path in re.findall(r'Verb::(\w+?)_?,\s*"(/[^"]*)"', text):
            routes.add((method.lower(), re.sub(r"\{[^}]+\}", "{}", path)))
    return routes


def spec_routes(spec):
    routes = set()
    for path, item in spec.doc["paths"].items():
        for method in item:
            if method in ("get", "put", "post", "delete", "patch"):
                routes.add((method, re.sub(r"\{[^}]+\}", "{}", path)))
    return routes


class Server:
    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="kissvdb-contract-")
        port_file = os.path.join(self.dir, "port")
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--port-file", port_file, "--data-dir", os.path.join(self.dir, "data"),
             "--api-key", "contract-key"], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("server did not start: " + open(self.log.name).read())
            time.sleep(0.05)
        self.base = f"http://127.0.0.1:{open(port_file).read().strip()}"

    def call(self, method, path, query=None, body=None, token="contract-key"):
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method.upper())
        if token:
            req.add_header("Authorization", "Bearer " + token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                ctype = r.headers.get("Content-Type", "")
                if ctype.startswith("text/event-stream"):
                    return r.status, ctype, b""  # an endless stream: the head is the answer
                return r.status, ctype, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = -9
        if code != 0:
            fail(f"server exited with {code} after SIGTERM")
        shutil.rmtree(self.dir, ignore_errors=True)


def operation_request(spec, path, method, op, item):
    params = [spec.resolve(p) for p in item.get("parameters", []) + op.get("parameters", [])]
    url_path = path
    query = {}
    for p in params:
        example = p.get("example", p.get("schema", {}).get("example"))
        if p["in"] == "path":
            if example is None:
                fail(f"{method.upper()} {path}: path parameter {p['name']} has no example")
                example = "x"
            url_path = url_path.replace("{" + p["name"] + "}", urllib.parse.quote(str(example), safe=""))
        elif p["in"] == "query" and example is not None:
            query[p["name"]] = example
    body = None
    if "requestBody" in op:
        rb = spec.resolve(op["requestBody"])
        media = rb.get("content", {}).get("application/json")
        if media is not None:
            if "example" not in media:
                fail(f"{method.upper()} {path}: requestBody has no example")
            body = media.get("example", {})
    return url_path, query, body


def check_response(spec, name, op, status, ctype, raw):
    responses = op.get("responses", {})
    doc = responses.get(str(status))
    if doc is None:
        fail(f"{name}: status {status} is not documented (body {raw[:200]!r})")
        return
    doc = spec.resolve(doc)
    content = doc.get("content", {})
    if "application/json" in content:
        if "json" not in ctype:
            fail(f"{name}: {status} with content-type {ctype!r}, documented as JSON")
            return
        try:
            value = json.loads(raw)
        except ValueError:
            fail(f"{name}: {status} body is not JSON: {raw[:200]!r}")
            return
        for err in spec.validate(value, content["application/json"].get("schema", {})):
            fail(f"{name}: {status}: {err}")
    elif content:
        media = ctype.split(";")[0].strip()
        if media not in content:
            fail(f"{name}: {status} with content-type {ctype!r}, documented as {sorted(content)}")
        elif media != "text/event-stream" and not raw:
            fail(f"{name}: {status} {media} with an empty body")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--source-dir", required=True)
    args = ap.parse_args()
    spec = Spec(yaml.safe_load(open(os.path.join(args.source_dir, "docs/openapi.yaml"))))

    served, documented = server_routes(args.source_dir), spec_routes(spec)
    for method, path in sorted(served - documented):
        fail(f"route {method.upper()} {path} is served but not in docs/openapi.yaml")
    for method, path in sorted(documented - served):
        fail(f"{method.upper()} {path} is documented but not served")

    server = Server(args.binary)
    try:
        ops = []
        for path, item in spec.doc["paths"].items():
            for method, op in item.items():
                if method in ("get", "put", "post", "delete", "patch"):
                    ops.append((path, method, op, item))
        results = {}

        def destructive(o):
            return o[1] == "delete" or re.search(r"/(delete|delete_batch)$", o[0]) is not None

        def run(pending):
            for _ in range(3):
                retry = []
                for path, method, op, item in pending:
                    if op.get("x-contract-skip"):
                        continue
                    name = f"{method.upper()} {path}"
                    url_path, query, body = operation_request(spec, path, method, op, item)
                    security = op.get("security", spec.doc.get("security"))
                    token = "contract-key" if security else None
                    status, ctype, raw = server.call(method, url_path, query, body, token)
                    results[name] = (status, ctype, raw, op)
                    if status in (404, 409):
                        retry.append((path, method, op, item))
                if not retry or len(retry) == len(pending):
                    return
                pending = retry

        # Document order, with retries for data a later operation creates;
        # destructive operations only after everything else.
        run([o for o in ops if not destructive(o)])
        run(sorted([o for o in ops if destructive(o)], key=lambda o: o[1] == "delete"))
        for name, (status, ctype, raw, op) in results.items():
            check_response(spec, name, op, status, ctype, raw)
            if not 200 <= status < 300:
                fail(f"{name}: example request answered {status}: {raw[:200]!r}")
        # Auth: every operation that needs a token refuses a call without one.
        for path, method, op, item in ops:
            if op.get("security", spec.doc.get("security")) and not op.get("x-contract-skip"):
                url_path, query, body = operation_request(spec, path, method, op, item)
                status, ctype, raw = server.call(method, url_path, query, body, token=None)
                name = f"{method.upper()} {path} without token"
                if status != 401:
                    fail(f"{name}: {status}, expected 401")
                else:
                    check_response(spec, name, op, status, ctype, raw)
        print(f"checked {len(results)} operations against the server")
    finally:
        server.stop()
    if FAILURES:
        print(f"{len(FAILURES)} contract failure(s)")
        sys.exit(1)
    print("openapi contract: all operations conform")


if __name__ == "__main__":
    main()
