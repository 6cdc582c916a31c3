"""The OpenAPI document, with errors described as they are answered.

FastAPI documents every 422 as its own `HTTPValidationError` (`{"detail": [...]}`, JSON)
and nothing else; every error here is RFC 9457 `application/problem+json` (see
`app/errors.py`). `install_openapi` post-processes the generated document: a `Problem`
schema, each operation's 422 pointing at it, 401 on operations that take a bearer token,
and `4XX`/`5XX` ranges for the rest. Routes need no `responses=` for errors.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI

from app.config import get_settings
from app.error_codes import ErrorCode
from app.errors import PROBLEM_JSON, TYPE_BASE
from app.idempotency import IDEMPOTENCY_EXCLUDED_PREFIXES
from app.openapi_examples import document_examples
from app.openapi_operations import api_routes, document_operations
from app.openapi_schemas import document_schemas

PROBLEM_REF = "#/components/schemas/Problem"
_FIELD_ERROR_REF = "#/components/schemas/ProblemFieldError"
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# FastAPI's own validation error schemas, dropped once nothing refers to them.
_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details. `code` is stable and meant for machines; "
    "`detail` is for people. Some problems add fields of their own (e.g. OAuth2's `error`).",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri",
            "description": f"`{TYPE_BASE}` followed by `code`.",
            "examples": [TYPE_BASE + "not_found"],
        },
        "title": {"type": "string", "description": "Short summary of the kind of problem."},
        "status": {
            "type": "integer",
            "minimum": 400,
            "maximum": 599,
            "description": "The HTTP status code.",
        },
        "detail": {"type": "string", "description": "What went wrong, for people."},
        "code": {
            "type": "string",
            "description": "Stable machine-readable code (e.g. `not_found`, `slug_taken`, "
            "`validation_error`, `invalid_character`).",
        },
        "instance": {
            "type": "string",
            "format": "uri-reference",
            "description": "The request path.",
        },
        "errors": {
            "type": "array",
            "description": "One entry per invalid field (validation problems).",
            "items": {"$ref": _FIELD_ERROR_REF},
        },
    },
    "additionalProperties": True,
}

FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ProblemFieldError",
    "type": "object",
    "required": ["loc", "msg", "code"],
    "properties": {
        "loc": {
            "type": "array",
            "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "description": 'Where: e.g. `["body", "email"]`, `["query", "limit"]`.',
        },
        "msg": {"type": "string"},
        "code": {"type": "string", "description": "Stable machine-readable code."},
    },
    "additionalProperties": True,
}


def _problem_response(description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        **extra,
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }


_RESPONSE_422 = (
    "The request is invalid: malformed, a field out of range, a rule broken "
    "(`validation_error` with `errors`, `invalid_character` for NUL, or a specific `code`)."
)
_RESPONSE_401 = (
    "The access token is missing (where required), invalid, expired or revoked "
    "(`unauthorized`, with `WWW-Authenticate`)."
)
_RESPONSE_4XX = (
    "Another client error: `forbidden` 403, `not_found` 404, `method_not_allowed` 405 "
    "(with `Allow`), `conflict` 409, `precondition_failed` 412, `payload_too_large` 413, "
    "`precondition_required` 428, `rate_limited` 429 (with `Retry-After`)… `code` says which."
)
_RESPONSE_5XX = "Our fault (`internal_error`); the `X-Request-ID` identifies it in our logs."
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": '`Bearer realm="consulta", error="..."`',
        "schema": {"type": "string"},
    }
}


def _operations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path_item in document.get("paths", {}).values():
        for method in _HTTP_METHODS:
            operation = path_item.get(method)
            if isinstance(operation, dict):
                yield operation


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


_EMPTY_BODY: dict[str, Any] = {"application/json": {"schema": {}}}
_EMPTY_BODY_DESCRIPTIONS = {"202": "Accepted. The body is empty.", "204": "Done. No body."}


def _document_empty_bodies(responses: dict[str, Any]) -> None:
    """A route that returns a bare `Response` (a 202 or 204) gets an "any JSON" body in
    FastAPI's document; it has no body at all, and says so."""
    for status_code, response in responses.items():
        if status_code.startswith("2") and response.get("content") == _EMPTY_BODY:
            del response["content"]
            response["description"] = _EMPTY_BODY_DESCRIPTIONS.get(status_code, "No body.")


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite `document` in place (idempotent) so that its errors are problem+json."""
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = copy.deepcopy(PROBLEM_SCHEMA)
    schemas["ProblemFieldError"] = copy.deepcopy(FIELD_ERROR_SCHEMA)
    for operation in _operations(document):
        responses: dict[str, Any] = operation.setdefault("responses", {})
        _document_empty_bodies(responses)
        if "422" in responses:
            responses["422"] = _problem_response(_RESPONSE_422)
        if operation.get("security"):
            responses.setdefault(
                "401", _problem_response(_RESPONSE_401, headers=copy.deepcopy(_WWW_AUTHENTICATE))
            )
        responses.setdefault("4XX", _problem_response(_RESPONSE_4XX))
        responses.setdefault("5XX", _problem_response(_RESPONSE_5XX))
        # "200" < "401" < "422" < "4XX" < "5XX": status order.
        operation["responses"] = dict(sorted(responses.items()))
    for name in _FASTAPI_ERROR_SCHEMAS:
        if name in schemas and f"#/components/schemas/{name}" not in set(_refs(document)):
            del schemas[name]
    return document


IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Up to 255 visible ASCII characters, unique per intended write. A retry "
    "with the same key and body returns the first response (`Idempotent-Replayed: true`) "
    "for 24 hours; the same key with another body is 422 `idempotency_key_reused`; a "
    "duplicate while the first is running is 409.",
    "schema": {"type": "string", "maxLength": 255},
}


def document_idempotency_key(document: dict[str, Any], excluded: tuple[str, ...]) -> None:
    """Declare the `Idempotency-Key` header (handled by `app/idempotency.py`, outside the
    routes) on every POST operation it applies to."""
    for path, path_item in document.get("paths", {}).items():
        operation = path_item.get("post")
        if not isinstance(operation, dict) or path.startswith(excluded):
            continue
        parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
        if not any(p.get("name") == "Idempotency-Key" for p in parameters):
            parameters.append(copy.deepcopy(IDEMPOTENCY_KEY_PARAMETER))


# A stable identifier of this API (ModI: `x-api-id` in `info`), independent of its URL.
API_ID = "consulta-api-v1"
LICENSE = {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"}
TAGS: list[dict[str, str]] = [
    {"name": "operations", "description": "Health and readiness of the service."},
    {"name": "accounts", "description": "Registration, sign-in (OAuth2), your profile and data."},
    {
        "name": "organizations",
        "description": "Metropolitan cities, their areas, municipalities, roles and suspensions.",
    },
    {
        "name": "plans",
        "description": "Strategic plans: phases and the tree of axes, "
        "objectives and actions; the plan import.",
    },
    {"name": "monitoring", "description": "Indicators, measurements and the progress report."},
    {"name": "tables", "description": "Participation tables, their members and settings."},
    {
        "name": "meetings",
        "description": "Meetings of the tables, registrations, attendance, minutes and calendars.",
    },
    {"name": "live", "description": "Live meetings: questions, likes and the event stream."},
    {"name": "proposals", "description": "Proposals of the tables, supports, answers."},
    {"name": "comments", "description": "Threaded comments with alignment and votes."},
    {"name": "polls", "description": "Polls of the tables and their results."},
    {"name": "budgets", "description": "Participatory budgets: projects, ballots, results."},
    {"name": "surveys", "description": "Surveys, their questions and responses."},
    {
        "name": "moderation",
        "description": "Reports, the moderation queue, blocked words, suspensions.",
    },
    {
        "name": "service requests",
        "description": "Reports of urban issues to the "
        "municipalities (also as Open311 GeoReport v2).",
    },
    {"name": "open311", "description": "Open311 GeoReport v2, with its own error format."},
    {
        "name": "integrations",
        "description": "Service clients, API keys, webhooks and the change feed.",
    },
    {
        "name": "open data",
        "description": "DCAT-AP_IT catalogs and datasets (CSV, JSON Lines), CC BY 4.0.",
    },
    {
        "name": "sortition",
        "description": "Table members drawn by lot: applications, quotas, draws, replacements.",
    },
    {
        "name": "conversations",
        "description": "Statements, agree/disagree/pass votes and opinion maps of a table.",
    },
]


# GeoReport's operations, named after its own vocabulary (`services`, `get_request`…).
_OPERATION_PREFIXES = {"/open311/": "open311_"}


def name_operations(app: FastAPI, document: dict[str, Any]) -> None:
    """`operationId`s are the endpoints' names (or a route's own `operation_id`): short and
    stable, e.g. `list_proposals`, `support_proposal`, `import_plan`."""
    for path, method, route in api_routes(app):
        operation = document.get("paths", {}).get(path, {}).get(method)
        if isinstance(operation, dict):
            prefix = next((p for s, p in _OPERATION_PREFIXES.items() if path.startswith(s)), "")
            if method == "head":  # a route answering GET and HEAD: one id for each
                prefix = f"head_{prefix}"
            operation["operationId"] = prefix + (route.operation_id or route.name)


ERROR_CODES_HEADING = "## Error codes"


def document_error_codes(document: dict[str, Any]) -> None:
    """Append the error-code catalogue (`app/error_codes.py`) to the API description: a
    table of every `code` a problem (or one of its `errors`) can carry."""
    info = document.setdefault("info", {})
    description = info.get("description") or ""
    if ERROR_CODES_HEADING in description:
        return
    intro = (
        "Every problem's `code`, and the `code` of each entry of its `errors`, is one of "
        "these (field errors share one vocabulary: `required`, `null_not_allowed`, "
        "`invalid_type`, `too_long`…)."
    )
    table = ErrorCode.table("code")
    info["description"] = f"{description}\n\n{ERROR_CODES_HEADING}\n\n{intro}\n\n{table}\n"


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and `/openapi.json`, `/docs`) serve the rewritten document."""
    generate = app.openapi  # FastAPI's own: caches, regenerates when routes change
    rewritten: list[dict[str, Any]] = []
    app.openapi_tags = copy.deepcopy(TAGS)
    app.servers = [{"url": "/", "description": "This server."}]
    # The deployment's own address (PUBLIC_URL) is where its operators are reached.
    app.contact = {"name": "Consulta", "url": get_settings().public_url}
    app.license_info = dict(LICENSE)

    def openapi() -> dict[str, Any]:
        document = generate()
        if not rewritten or rewritten[0] is not document:
            document["info"]["x-api-id"] = API_ID
            name_operations(app, document)
            document_problems(document)
            document_idempotency_key(document, IDEMPOTENCY_EXCLUDED_PREFIXES)
            document_error_codes(document)
            document_operations(app, document)
            document_schemas(document)
            document_examples(document)
            rewritten[:] = [document]
        return document

    app.openapi = openapi  # type: ignore[method-assign]
