"""Examples of the main request bodies and responses of the OpenAPI document."""

from __future__ import annotations

from typing import Any

SCHEMA_EXAMPLES: dict[str, dict[str, Any]] = {}


def document_examples(document: dict[str, Any]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    for name, example in SCHEMA_EXAMPLES.items():
        if name in schemas:
            schemas[name]["examples"] = [example]
