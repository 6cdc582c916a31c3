"""`Location` on every 201: the address of what the request created.

`CREATED` names, per operation that can answer 201 (`"METHOD /path/template"`), the
address of the created resource as templates filled from the request's path parameters
(`{p[table_id]}`) and the answer's body (`{b[id]}`); the first template whose fields are
all present (and not null) is used. Where the created thing has no address of its own (a
membership, a comment, a registration), it is the collection that lists it.
`app/conventions.py` sets the header on 201 answers that do not set their own;
`tests/test_http_conventions.py` checks that every operation able to answer 201 is named
here and that every address is one the API serves.
"""

import json
import weakref
from string import Formatter
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.types import Scope

CREATED: dict[str, tuple[str, ...]] = {
    "POST /v1/auth/register": ("/v1/me",),
    "POST /v1/organizations": ("/v1/organizations/{b[slug]}",),
    "POST /v1/organizations/{org}/municipalities": ("/v1/organizations/{p[org]}/municipalities",),
    "POST /v1/organizations/{org}/roles": ("/v1/organizations/{p[org]}/roles/{b[id]}",),
    "POST /v1/organizations/{org}/tables": ("/v1/tables/{b[id]}",),
    "POST /v1/tables/{table_id}/memberships": (
        "/v1/tables/{p[table_id]}/memberships/{b[user][id]}",
        "/v1/tables/{p[table_id]}/memberships",
    ),
    "POST /v1/tables/{table_id}/meetings": ("/v1/meetings/{b[id]}",),
    "POST /v1/meetings/{meeting_id}/registrations": (
        "/v1/meetings/{p[meeting_id]}/registrations/me",
    ),
    "POST /v1/meetings/{meeting_id}/live/tickets": ("/v1/meetings/{p[meeting_id]}/live",),
    "POST /v1/meetings/{meeting_id}/questions": ("/v1/questions/{b[id]}",),
    "POST /v1/plans/import": ("/v1/plans/{b[plan_id]}",),
    "POST /v1/plan-nodes/{node_id}/indicators": ("/v1/indicators/{b[id]}",),
    "POST /v1/indicators/{indicator_id}/measurements": (
        "/v1/indicators/{p[indicator_id]}/measurements",
    ),
    "POST /v1/tables/{table_id}/proposals": ("/v1/proposals/{b[id]}",),
    "POST /v1/tables/{table_id}/sortition/applications": (
        "/v1/tables/{p[table_id]}/sortition/applications/me",
    ),
    "POST /v1/tables/{table_id}/sortition/draws": (
        "/v1/tables/{p[table_id]}/sortition/draws/{b[id]}",
    ),
    "POST /v1/tables/{table_id}/sortition/replacements": (
        "/v1/tables/{p[table_id]}/sortition/draws/{b[draw_id]}",
    ),
    "POST /v1/tables/{table_id}/conversations": ("/v1/conversations/{b[id]}",),
    "POST /v1/conversations/{conversation_id}/statements": (
        "/v1/conversations/{p[conversation_id]}/statements",
    ),
    "PUT /v1/proposals/{proposal_id}/support": ("/v1/proposals/{p[proposal_id]}/support",),
    "POST /v1/proposals/{proposal_id}/comments": ("/v1/proposals/{p[proposal_id]}/comments",),
    "POST /v1/meetings/{meeting_id}/comments": ("/v1/meetings/{p[meeting_id]}/comments",),
    "POST /v1/plan-nodes/{node_id}/comments": ("/v1/plan-nodes/{p[node_id]}/comments",),
    "POST /v1/polls/{poll_id}/comments": ("/v1/polls/{p[poll_id]}/comments",),
    "POST /v1/budget-projects/{project_id}/comments": (
        "/v1/budget-projects/{p[project_id]}/comments",
    ),
    "POST /v1/tables/{table_id}/polls": ("/v1/polls/{b[id]}",),
    "POST /v1/polls/{poll_id}/ballots": ("/v1/polls/{p[poll_id]}",),
    "POST /v1/organizations/{org}/budgets": ("/v1/budgets/{b[id]}",),
    "POST /v1/budgets/{budget_id}/areas": ("/v1/budgets/{p[budget_id]}/areas",),
    "POST /v1/budgets/{budget_id}/projects": ("/v1/budget-projects/{b[id]}",),
    "POST /v1/budgets/{budget_id}/paper-ballots": ("/v1/budgets/{p[budget_id]}/results",),
    # A report has no address for its author: the reported content's (see `_fill`).
    "POST /v1/reports": ("/v1/{b[target_type]}s/{b[target_id]}",),
    "POST /v1/organizations/{org}/suspensions/{user_id}": (
        "/v1/organizations/{p[org]}/suspensions",
    ),
    "POST /v1/organizations/{org}/guardian-consents": (
        "/v1/organizations/{p[org]}/guardian-consents/{b[user][id]}",
    ),
    "POST /v1/organizations/{org}/surveys": ("/v1/surveys/{b[id]}",),
    "POST /v1/surveys/{survey_id}/responses": ("/v1/surveys/{p[survey_id]}/results",),
    "POST /v1/organizations/{org}/services": ("/v1/organizations/{p[org]}/services",),
    "POST /v1/organizations/{org}/open311-keys": (
        "/v1/organizations/{p[org]}/open311-keys/{b[id]}",
    ),
    "POST /open311/v2/requests.json": (
        "/open311/v2/requests/{b[0][service_request_id]}.json",
        "/open311/v2/tokens/{b[0][token]}.json",
    ),
    "POST /v1/organizations/{org}/api-clients": ("/v1/api-clients/{b[id]}",),
    "POST /v1/api-clients/{client_id}/secrets": ("/v1/api-clients/{p[client_id]}",),
    "POST /v1/organizations/{org}/webhooks": ("/v1/webhooks/{b[id]}",),
    "POST /v1/webhooks/{webhook_id}/test": ("/v1/webhooks/{p[webhook_id]}/deliveries",),
}

# Reported content with an address of its own (comments and people have none, so the
# answer to reporting them has no Location).
_REPORTABLE_AT = frozenset({"proposal", "meeting", "question"})

_operations: "weakref.WeakKeyDictionary[Any, dict[Any, str]]" = weakref.WeakKeyDictionary()


def operation_key(scope: Scope) -> str | None:
    """`"METHOD /path/template"` of the operation that answered, from its endpoint."""
    app = scope.get("app")
    endpoint = scope.get("endpoint")
    if app is None or endpoint is None:
        return None
    table = _operations.get(app)
    if table is None:
        table = {}
        for context in iter_route_contexts(app.routes):
            for method in context.methods or ():
                table[(method, context.endpoint)] = f"{method} {context.path}"
        _operations[app] = table
    key: str | None = table.get((scope["method"], endpoint))
    return key


def _fill(template: str, path: dict[str, Any], body: Any) -> str | None:
    fields = {name for _, name, _, _ in Formatter().parse(template) if name}
    if "b[target_type]" in fields and (
        not isinstance(body, dict) or body.get("target_type") not in _REPORTABLE_AT
    ):
        return None
    try:
        value = template.format(p=path, b=body)
    except (KeyError, IndexError, TypeError):
        return None
    return None if "None" in value.split("/") or "None.json" in value else value


def created_location(scope: Scope, body: bytes) -> str | None:
    """The address of what a 201 answer created, or None when `CREATED` has none."""
    key = operation_key(scope)
    templates = CREATED.get(key or "")
    if not templates:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    path = {k: str(v) for k, v in (scope.get("path_params") or {}).items()}
    root = str(scope.get("root_path", ""))
    for template in templates:
        value = _fill(template, path, document)
        if value is not None:
            return root + value
    return None
