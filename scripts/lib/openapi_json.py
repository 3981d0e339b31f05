#!/usr/bin/env python3
"""openapi_json.py YAML JSON — the OpenAPI document as JSON (issue 15).

The API serves schemas/openapi.yaml as-is and this JSON rendering of it at
GET /api/openapi.json; the docs page (web/api-docs/) and JSON-only tools read
the JSON. Converted at build time (CMake, api/CMakeLists.txt) because the API
has a JSON library but no YAML one. safe_load resolves YAML anchors; dates
the YAML may hold become strings, as in the YAML text."""
import json
import os
import sys

import yaml


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: openapi_json.py IN.yaml OUT.json", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    text = json.dumps(doc, ensure_ascii=False, indent=1, default=str)
    # Write then rename, so a served file is never half written.
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.replace(tmp, sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
