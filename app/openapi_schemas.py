"""The component schemas of the OpenAPI document, as generated clients want them.

`document_schemas` rewrites FastAPI's schemas in place (idempotent):

* the models' `Literal` aliases (`ProposalStatus`, `Alignment`, `ReportReason`…) become
  named enum components instead of dozens of inline copies;
* the translatable text map (`{"it": "...", "en": "..."}`) is one `TextMap` component in
  responses, and one `TextMap<max length>` per limit in requests;
* generated names get readable ones: `Page_TablePublic_` → `TablePage`, FastAPI's
  `Body_<operation>` form bodies → `<Operation>Request`;
* every property of a schema that only responses use is `required`: the application
  serializes every field (nullable ones as `null`), so `next_cursor`, `token_type`…
  are always present;
* an optional request body is the model itself (not `anyOf [model, null]`), with
  `required: false`, so that generated clients can omit it.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
import re
from collections.abc import Iterator
from typing import Any, Literal, get_args, get_origin

import app.models

SCHEMA_REF = "#/components/schemas/"
TEXT_MAP = "TextMap"
_LOCALE_PATTERN_KEYS = ("patternProperties",)
# Value sets that several aliases share: the one name the document uses for them.
SHARED_ENUM_NAMES: dict[tuple[str, ...], str] = {
    ("visible", "hidden", "pending"): "ModerationStatus",
    ("upcoming", "open", "closed"): "OpeningStatus",
    ("single", "multiple"): "PollKind",
    ("open", "closed"): "OpenClosed",
}


def _literal_values(value: Any) -> tuple[str, ...] | None:
    if get_origin(value) is not Literal:
        return None
    values = get_args(value)
    if len(values) < 2 or not all(isinstance(v, str) for v in values):
        return None
    return tuple(values)


def model_enums() -> dict[tuple[str, ...], str]:
    """Every `Literal` alias of `app.models.*`, by its values."""
    names: dict[tuple[str, ...], set[str]] = {}
    for module_info in pkgutil.iter_modules(app.models.__path__):
        module = importlib.import_module(f"app.models.{module_info.name}")
        for name, value in vars(module).items():
            values = _literal_values(value)
            if values is not None and not name.startswith("_"):
                names.setdefault(values, set()).add(name)
    enums: dict[tuple[str, ...], str] = {}
    for values, aliases in names.items():
        if values in SHARED_ENUM_NAMES:
            enums[values] = SHARED_ENUM_NAMES[values]
        elif len(aliases) == 1:
            enums[values] = next(iter(aliases))
        # Otherwise ambiguous and unnamed: it stays inline (tests/test_openapi.py checks
        # that none is left so).
    return enums


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in `node`, parents before children."""
    if isinstance(node, dict):
        yield node
        for value in list(node.values()):
            yield from _nodes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _nodes(item)


def _replace_with_ref(node: dict[str, Any], name: str, drop: tuple[str, ...]) -> None:
    for key in drop:
        node.pop(key, None)
    node.pop("title", None)
    node["$ref"] = SCHEMA_REF + name


def _name_enums(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    enums = model_enums()
    for node in _nodes(document.get("paths", {})), _nodes(schemas):
        for schema in list(node):
            values = schema.get("enum")
            if schema.get("type") != "string" or not isinstance(values, list):
                continue
            name = enums.get(tuple(values))
            if name is None or (name in schemas and schemas[name] is schema):
                continue
            schemas.setdefault(name, {"title": name, "type": "string", "enum": list(values)})
            _replace_with_ref(schema, name, ("type", "enum"))


def _text_map_name(schema: dict[str, Any]) -> str | None:
    if schema.get("type") != "object" or "properties" in schema:
        return None
    if schema.get("additionalProperties") == {"type": "string"} and len(schema) <= 3:
        return TEXT_MAP
    patterns = schema.get("patternProperties")
    if isinstance(patterns, dict) and len(patterns) == 1:
        (value,) = patterns.values()
        if value.get("type") == "string" and "maxLength" in value:
            return f"{TEXT_MAP}{value['maxLength']}"
    return None


def _name_text_maps(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    for node in _nodes(document.get("paths", {})), _nodes(schemas):
        for schema in list(node):
            name = _text_map_name(schema)
            if name is None or schemas.get(name) is schema:
                continue
            if name not in schemas:
                limit = f" (each text 1 to {name[len(TEXT_MAP) :]} characters)"
                schemas[name] = {
                    "title": name,
                    "type": "object",
                    "description": 'Translatable text by locale, e.g. `{"it": "…", "en": "…"}`'
                    + (limit if name != TEXT_MAP else "")
                    + ".",
                    **{k: v for k, v in schema.items() if k not in ("title", "description")},
                }
            _replace_with_ref(schema, name, ("type", "additionalProperties", "patternProperties"))


def _readable_name(name: str, operation_ids: dict[str, str]) -> str | None:
    qualified = re.fullmatch(r"app__models__(\w+?)__(\w+)", name)  # two models, one name
    if qualified:
        module, model = qualified.groups()
        return module.removesuffix("s").title().replace("_", "") + model
    page = re.fullmatch(r"Page_(\w+?)_", name)
    if page:
        item = page.group(1)
        return (item.removesuffix("Public") or item) + "Page"
    if name.startswith("Body_"):
        operation_id = operation_ids.get(name)
        if operation_id:
            return "".join(part.title() for part in operation_id.split("_")) + "Request"
    return None


def _form_body_owners(document: dict[str, Any]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            body = operation.get("requestBody", {}) if isinstance(operation, dict) else {}
            for media in body.get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                if ref.startswith(SCHEMA_REF + "Body_"):
                    owners[ref[len(SCHEMA_REF) :]] = operation["operationId"]
    return owners


def rename_schemas(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    owners = _form_body_owners(document)
    renames: dict[str, str] = {}
    for name in list(schemas):
        new = _readable_name(name, owners)
        if new is not None and new not in schemas and new not in renames.values():
            renames[name] = new
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
        schemas[new]["title"] = new
    for node in _nodes(document):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
            target = ref[len(SCHEMA_REF) :]
            if target in renames:
                node["$ref"] = SCHEMA_REF + renames[target]


def _refs_in(node: Any) -> set[str]:
    return {
        n["$ref"][len(SCHEMA_REF) :]
        for n in _nodes(node)
        if isinstance(n.get("$ref"), str) and n["$ref"].startswith(SCHEMA_REF)
    }


def _closure(roots: set[str], schemas: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        todo.extend(_refs_in(schemas[name]))
    return seen


def _usage(document: dict[str, Any], schemas: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The schemas responses use, and those requests use (each with what they refer to)."""
    responses: set[str] = set()
    requests: set[str] = set()
    for operation in _each_operation(document):
        responses |= _refs_in(operation.get("responses", {}))
        requests |= _refs_in(operation.get("requestBody", {}))
        requests |= _refs_in(operation.get("parameters", []))
    return _closure(responses, schemas), _closure(requests, schemas)


def _each_operation(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "responses" in operation:
                yield operation


def _has_optional(schema: dict[str, Any]) -> bool:
    properties = schema.get("properties")
    return isinstance(properties, dict) and bool(set(properties) - set(schema.get("required", [])))


def _retarget(node: Any, renames: dict[str, str]) -> None:
    for child in _nodes(node):
        ref = child.get("$ref")
        if isinstance(ref, str) and ref[len(SCHEMA_REF) :] in renames:
            child["$ref"] = SCHEMA_REF + renames[ref[len(SCHEMA_REF) :]]


def _split_shared(document: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """A schema that requests and responses share, with optional properties (or referring
    to such a schema), gets a copy for responses: `<Name>Output`. Returns the schemas
    only responses use, copies included."""
    responses, requests = _usage(document, schemas)
    shared = responses & requests
    split = {name for name in shared if _has_optional(schemas[name])}
    while True:
        more = {n for n in shared - split if _refs_in(schemas[n]) & split}
        if not more:
            break
        split |= more
    renames = {name: f"{name}Output" for name in split}
    for name, new in renames.items():
        schemas[new] = {**copy.deepcopy(schemas[name]), "title": new}
    only = (responses - requests) | set(renames.values())
    for name in only:
        _retarget(schemas[name], renames)
    for operation in _each_operation(document):
        _retarget(operation["responses"], renames)
    return only


# Written by hand (app/openapi.py), with the fields a problem may leave out.
_CURATED = frozenset({"Problem", "ProblemFieldError"})


def _require_response_fields(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    for name in _split_shared(document, schemas) - _CURATED:
        schema = schemas[name]
        properties = schema.get("properties")
        if schema.get("type") == "object" and isinstance(properties, dict) and properties:
            schema["required"] = list(properties)


def _optional_bodies(document: dict[str, Any]) -> None:
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body or body.get("required"):
                continue
            body["required"] = False
            for media in body.get("content", {}).values():
                options = media.get("schema", {}).get("anyOf", [])
                kept = [o for o in options if o != {"type": "null"}]
                if len(kept) == 1 and len(options) == 2:
                    media["schema"] = kept[0]


def document_schemas(document: dict[str, Any]) -> None:
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    rename_schemas(document, schemas)
    _name_enums(document, schemas)
    _name_text_maps(document, schemas)
    _optional_bodies(document)
    _require_response_fields(document, schemas)
    document["components"]["schemas"] = dict(sorted(schemas.items()))
