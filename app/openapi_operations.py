"""The operations of the OpenAPI document, completed from the routes themselves.

`document_operations` reads each route's dependencies to declare its security (required
when a dependency refuses a caller without a token, optional — `[{}, {scheme: []}]` —
when the route only reads one, none otherwise), and declares the response headers the
application sends (`components/headers`, referenced from the responses they apply to).
Routers need no `openapi_extra` for any of this.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from app.deps import TOKEN_REQUIRED

HEADER_REF = "#/components/headers/"

# Every response header the application sends, once, referenced by the responses.
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id (yours, if you sent a valid `X-Request-ID`); quote "
        "it when reporting a problem.",
        "schema": {"type": "string"},
    },
    "ETag": {
        "description": "The representation's version, for `If-Match` on the next write.",
        "schema": {"type": "string"},
        "example": '"3"',
    },
    "Location": {
        "description": "The path of the resource created.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again (429, 503).",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Limit": {
        "description": "Writes allowed in the window of the tightest limit that applies "
        "(draft-ietf-httpapi-ratelimit-headers).",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Remaining": {
        "description": "Writes left in that window.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Reset": {
        "description": "Seconds until that window ends.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Policy": {
        "description": "The limits that apply, e.g. `10;w=3600, 100;w=86400`.",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with "
        "the same `Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Content-Disposition": {
        "description": 'A file to save: `attachment; filename="..."`.',
        "schema": {"type": "string"},
    },
}
_RATE_LIMIT = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy")
_JSON_TYPES = ("application/json", "application/problem+json")
_NOT_FILES = (*_JSON_TYPES, "text/event-stream")


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """(path, method, route) for every documented operation."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema:
            path = context.path_format or route.path_format
            for method in sorted(context.methods or route.methods or ()):
                yield path, method.lower(), route


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _security(operation: dict[str, Any], route: APIRoute) -> None:
    schemes = [s for s in operation.get("security", []) if s]
    required = any(call in TOKEN_REQUIRED for call in _calls(route.dependant))
    if required:
        operation["security"] = schemes
    else:
        operation["security"] = [{}, *schemes] if schemes else []


def _sends(route: APIRoute, what: str) -> bool:
    """Whether the endpoint's own code sends `what` (e.g. calls `set_etag`)."""
    try:
        return what in inspect.getsource(route.endpoint)
    except (OSError, TypeError):
        return False


def _write_limited(route: APIRoute) -> bool:
    return any(
        getattr(call, "__qualname__", "").startswith("write_limit.")
        for call in _calls(route.dependant)
    )


def _ref(name: str) -> dict[str, str]:
    return {"$ref": HEADER_REF + name}


def _headers_for(
    method: str, status: str, response: dict[str, Any], route: APIRoute, idempotent: bool
) -> list[str]:
    names = ["X-Request-ID"]
    success = status.startswith("2")
    content = response.get("content", {})
    if success and (method == "get" or _sends(route, "set_etag")) and content:
        names.append("ETag")
    if status == "201":
        names.append("Location")
    if success and idempotent:
        names.append("Idempotent-Replayed")
    files = any(not media.startswith(_NOT_FILES) for media in content)
    if success and (files or _sends(route, "Content-Disposition")):
        names.append("Content-Disposition")
    if (success and _write_limited(route)) or status == "4XX":
        names.extend(_RATE_LIMIT)
    if status in ("4XX", "5XX"):
        names.append("Retry-After")
    return names


def _headers(operation: dict[str, Any], method: str, route: APIRoute) -> None:
    parameters = operation.get("parameters", [])
    idempotent = any(p.get("name") == "Idempotency-Key" for p in parameters)
    for status, response in operation.get("responses", {}).items():
        headers: dict[str, Any] = response.setdefault("headers", {})
        for name in _headers_for(method, status, response, route, idempotent):
            headers.setdefault(name, _ref(name))


_SUCCESS = {"200": "OK.", "201": "Created."}
_BINARY_TYPES = ("application/zip", "application/octet-stream")


def _media(operation: dict[str, Any]) -> None:
    """Files get a string schema (FastAPI gives none) and lose the `application/json` that
    a route's default response class adds; inline schemas lose their generated titles
    (`Response Token V1 Auth Token Post`)."""
    for status, response in operation.get("responses", {}).items():
        if response.get("description") == "Successful Response":
            response["description"] = _SUCCESS.get(status, "Done.")
        content: dict[str, Any] = response.get("content") or {}
        files = [media for media in content if not media.startswith(_JSON_TYPES)]
        if files and content.get("application/json") == {"schema": {}}:
            del content["application/json"]
        for media, entry in content.items():
            if "itemSchema" in entry:  # OpenAPI 3.2's, from FastAPI's event streams
                entry["x-itemSchema"] = entry.pop("itemSchema")
                # Before 3.2, stream checkers (schemathesis) read `schema` as the schema
                # of each event, so it is the event's too.
                entry["schema"] = dict(entry["x-itemSchema"])
            schema = entry.get("schema")
            if not schema and media in files:
                binary = media in _BINARY_TYPES
                entry["schema"] = {"type": "string", **({"format": "binary"} if binary else {})}
            elif isinstance(schema, dict) and "$ref" not in schema:
                schema.pop("title", None)


def document_operations(app: FastAPI, document: dict[str, Any]) -> None:
    """Security and response headers of every operation (idempotent)."""
    document.setdefault("components", {})["headers"] = {k: dict(v) for k, v in HEADERS.items()}
    for path, method, route in api_routes(app):
        operation = document.get("paths", {}).get(path, {}).get(method)
        if not isinstance(operation, dict):
            continue
        _security(operation, route)
        _media(operation)
        _headers(operation, method, route)
