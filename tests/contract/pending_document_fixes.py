"""The OpenAPI document schemathesis tests: the generated one, with the fixes reported for
xtask/src/gen_openapi.rs and not yet made there, so the run tests the contract as it should be.
Each fix prints what it changed; a fix that changes nothing (xtask emits it now) prints that it
can be removed from here.

usage: pending_document_fixes.py GENERATED.json OUT.json

1. `requestBody.required` is `false` where the body object has no required field. Feishu's
   Python SDK (lark-oapi 1.7.5) sends no body at all when the user sets none (a batch query by
   `external_application_id` alone), Feishu answers it, and so does the sandbox (an empty body
   reads as `{}`). The generated document says every body is required, so schemathesis sends
   such a request as a negative case and wants it refused.
"""

import json
import sys


def schema_of(document, schema):
    """Follows a local `$ref`."""
    while isinstance(schema, dict) and "$ref" in schema:
        node = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def main() -> int:
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as file:
        document = json.load(file)
    relaxed = []
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body or body.get("required") is not True:
                continue
            schema = schema_of(document, body.get("content", {}).get("application/json", {}).get("schema"))
            if isinstance(schema, dict) and not schema.get("required"):
                body["required"] = False
                relaxed.append(f"{method.upper()} {path}")
    for operation in relaxed:
        print(f"pending fix 1 (requestBody.required: false, no required field): {operation}")
    if not relaxed:
        print("pending fix 1 changed nothing: remove it from tests/contract/pending_document_fixes.py")
    with open(target, "w", encoding="utf-8") as file:
        json.dump(document, file, ensure_ascii=False, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
