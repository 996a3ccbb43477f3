#!/usr/bin/env python3
"""openapi_to_json.py IN.yaml OUT.json: the spec as JSON, for the /docs page.

Browsers parse JSON natively but not YAML, so the build converts the spec
once (Debian's python3-yaml) and the daemon serves both forms. Fails on a
YAML error, so a broken spec breaks the build, not the docs page.
"""
import json
import sys

try:
    import yaml
except ImportError:
    sys.exit("openapi_to_json.py: python3-yaml is missing (apt-get install python3-yaml, or scripts/setup.sh)")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: openapi_to_json.py IN.yaml OUT.json")
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    if not isinstance(spec, dict) or "paths" not in spec:
        sys.exit(f"{sys.argv[1]}: not an OpenAPI document (no 'paths')")
    text = json.dumps(spec, ensure_ascii=False, separators=(",", ":"), sort_keys=False, default=str)
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
