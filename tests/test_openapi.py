"""The OpenAPI document: structurally sound, and its errors are the problem+json we send."""

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.factories import commit_setup, make_user
from tests.helpers import bearer

PROBLEM = "#/components/schemas/Problem"
PROBLEM_JSON = "application/problem+json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture
async def spec(client) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def operations(spec):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def refs(node, where="#"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from refs(item, f"{where}/{i}")


def resolve(spec, ref):
    assert ref.startswith("#/"), f"external $ref {ref}"
    node = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolvable $ref {ref}"
        node = node[part]
    return node


def problem_validator(spec):
    """A validator for the Problem schema, its $refs resolved within the document."""
    schema = {"$ref": PROBLEM, "components": spec["components"]}
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


async def test_document_is_structurally_openapi_3_1(spec):
    assert re.fullmatch(r"3\.1\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["paths"]
    for where, ref in refs(spec):
        assert resolve(spec, ref) is not None, where
    for name, schema in spec["components"]["schemas"].items():
        assert isinstance(schema, dict), name
        Draft202012Validator.check_schema(schema)
    operation_ids = []
    for name, operation in operations(spec):
        assert operation["responses"], name
        operation_ids.append(operation["operationId"])
        for status, response in operation["responses"].items():
            assert re.fullmatch(r"[1-5](\d\d|XX)|default", status), (name, status)
            assert isinstance(response.get("description"), str), (name, status)
            for media_type, content in response.get("content", {}).items():
                assert "/" in media_type and isinstance(content, dict), (name, media_type)
    assert len(operation_ids) == len(set(operation_ids))


async def test_every_422_is_a_problem(spec):
    seen = 0
    for name, operation in operations(spec):
        response = operation["responses"].get("422")
        if response is None:
            continue
        seen += 1
        assert response["content"] == {PROBLEM_JSON: {"schema": {"$ref": PROBLEM}}}, name
    assert seen > 50
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert "HTTPValidationError" not in str(spec)


async def test_every_operation_documents_client_and_server_errors(spec):
    for name, operation in operations(spec):
        responses = operation["responses"]
        for status in ("4XX", "5XX"):
            assert responses[status]["content"][PROBLEM_JSON]["schema"] == {"$ref": PROBLEM}
        if operation.get("security"):
            assert responses["401"]["content"][PROBLEM_JSON]["schema"] == {"$ref": PROBLEM}
            assert "WWW-Authenticate" in responses["401"]["headers"], name
        # Success responses are untouched.
        assert any(status.startswith("2") for status in responses), name
    assert "401" in spec["paths"]["/v1/me"]["get"]["responses"]
    assert "401" not in spec["paths"]["/healthz"]["get"]["responses"]


async def test_problem_schema_shape(spec):
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert set(problem["properties"]) >= {
        "type",
        "title",
        "status",
        "detail",
        "code",
        "instance",
        "errors",
    }
    field_error = resolve(spec, problem["properties"]["errors"]["items"]["$ref"])
    assert set(field_error["required"]) == {"loc", "msg", "code"}


async def test_real_error_responses_validate_against_problem(client, session, spec):
    validator = problem_validator(spec)
    user = await make_user(session)
    await commit_setup(session)  # the failing requests below roll back
    responses = [
        await client.get("/v1/organizations/no-such-org"),
        await client.get("/v1/no-such-thing"),
        await client.post("/v1/auth/register", json={"email": 3, "password": []}),
        await client.post("/v1/auth/register", json={"display_name": "a\x00"}),
        await client.get("/v1/organizations?limit=1000"),
        await client.delete("/v1/organizations"),
        await client.get("/v1/me"),
        await client.patch("/v1/me", json={"display_name": 3}, headers=bearer(user)),
    ]
    statuses = [r.status_code for r in responses]
    assert statuses == [404, 404, 422, 422, 422, 405, 401, 422]
    for response in responses:
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        body = response.json()
        errors = sorted(validator.iter_errors(body), key=str)
        assert not errors, (body, [e.message for e in errors])
    assert responses[2].json()["errors"]  # the field errors validate too
    # And something that is not a problem does not.
    assert not validator.is_valid({"detail": [{"loc": ["body"], "msg": "x", "type": "y"}]})
    assert not validator.is_valid({**responses[0].json(), "status": "404"})


async def test_posts_declare_the_idempotency_key_header(spec):
    def declares(path):
        parameters = spec["paths"][path]["post"].get("parameters", [])
        return any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in parameters)

    assert declares("/v1/tables/{table_id}/proposals")
    assert declares("/v1/auth/register")
    assert not declares("/v1/auth/token")
    posts = [path for path, item in spec["paths"].items() if "post" in item]
    assert all(declares(path) for path in posts if path != "/v1/auth/token")


async def test_answers_without_a_body_are_documented_without_one(client, spec):
    """202 (and 204) answers have no body: the document must not promise a JSON one."""
    for name, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status in ("202", "204"):
                assert "content" not in response, (name, status)
    for path in ("/v1/auth/password-reset", "/v1/auth/verify-email/resend"):
        documented = spec["paths"][path]["post"]["responses"]["202"]
        assert documented["description"] == "Accepted. The body is empty."
        answer = await client.post(path, json={"email": "nessuno@example.org"})
        assert answer.status_code == 202 and answer.content == b""


# --- what generated clients need (issue 13) ------------------------------------------

SCHEMAS = "#/components/schemas/"
BEARER = "OAuth2PasswordBearer"


def success_schemas(operation):
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            for media, content in response.get("content", {}).items():
                yield status, media, content["schema"]


async def test_operation_ids_are_the_endpoint_names(spec):
    ids = [operation["operationId"] for _, operation in operations(spec)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", i) and len(i) <= 40 for i in ids)
    paths = spec["paths"]
    assert paths["/v1/tables/{table_id}/proposals"]["get"]["operationId"] == "list_proposals"
    assert paths["/v1/proposals/{proposal_id}/support"]["put"]["operationId"] == (
        "support_proposal"
    )
    assert paths["/v1/plans/import"]["post"]["operationId"] == "import_plan"
    assert paths["/open311/v2/services.json"]["get"]["operationId"] == "open311_services"


async def test_every_operation_declares_its_security(spec):
    for name, operation in operations(spec):
        assert "security" in operation, name
    paths = spec["paths"]
    assert paths["/v1/tables/{table_id}/proposals"]["get"]["security"] == [{}, {BEARER: []}]
    assert paths["/v1/proposals/{proposal_id}"]["get"]["security"] == [{}, {BEARER: []}]
    assert paths["/v1/tables/{table_id}/proposals"]["post"]["security"] == [{BEARER: []}]
    assert paths["/v1/me"]["get"]["security"] == [{BEARER: []}]
    assert paths["/v1/plans/import"]["post"]["security"] == [{BEARER: []}]
    assert paths["/v1/auth/register"]["post"]["security"] == []
    assert paths["/healthz"]["get"]["security"] == []
    assert paths["/v1/auth/token"]["post"]["security"] == [{}, {"HTTPBasic": []}]


async def test_tags_are_described_and_no_name_is_generated(spec):
    declared = {tag["name"]: tag for tag in spec["tags"]}
    assert all(tag["description"] for tag in declared.values())
    for name, operation in operations(spec):
        assert operation["tags"] and set(operation["tags"]) <= declared.keys(), name
    names = spec["components"]["schemas"]
    assert not [n for n in names if n.startswith(("Body_", "Page_")) or "__" in n or "-" in n]
    assert "TokenRequest" in names and "ProposalPage" in names and "TablePage" in names
    for name, operation in operations(spec):
        for status, _, schema in success_schemas(operation):
            assert "title" not in schema or "$ref" in schema, (name, status)


async def test_shared_enums_and_text_maps_are_named(spec):
    import importlib
    import pkgutil
    from typing import Literal, get_args, get_origin

    import app.models
    from app.openapi_schemas import SHARED_ENUM_NAMES, model_enums

    aliases: dict[tuple[Any, ...], set[str]] = {}
    for info in pkgutil.iter_modules(app.models.__path__):
        for alias, value in vars(importlib.import_module(f"app.models.{info.name}")).items():
            if get_origin(value) is Literal and len(get_args(value)) > 1:
                aliases.setdefault(get_args(value), set()).add(alias)
    ambiguous = {values for values, names in aliases.items() if len(names) > 1}
    assert ambiguous <= SHARED_ENUM_NAMES.keys(), "name the shared value set in SHARED_ENUM_NAMES"
    schemas = spec["components"]["schemas"]
    named = model_enums()
    for values, name in named.items():
        if name in schemas:
            assert schemas[name]["enum"] == list(values), name
    assert {"ProposalStatus", "Alignment", "ReportReason", "ModerationStatus"} <= schemas.keys()
    inline = [
        node
        for _, node in _dicts(spec)
        if node.get("type") == "string" and tuple(node.get("enum", ())) in named
    ]
    assert [n for n in inline if n not in schemas.values()] == []
    for where, node in _dicts(spec):
        if where.startswith("#/components/schemas/TextMap"):
            continue
        assert node.get("additionalProperties") != {"type": "string"} or "properties" in node, where
        assert "patternProperties" not in node, where
    table = schemas["TablePublic"]["properties"]
    assert table["name"] == {"$ref": SCHEMAS + "TextMap"}
    assert table["visibility"] == {"$ref": SCHEMAS + "TableVisibility"}
    assert schemas["TableCreate"]["properties"]["name"] == {"$ref": SCHEMAS + "TextMap200"}
    comment = schemas["CommentPublic"]["properties"]
    assert comment["alignment"] == {"$ref": SCHEMAS + "Alignment"}
    assert schemas["ReportCreate"]["properties"]["reason"]["$ref"] == SCHEMAS + "ReportReason"


def _dicts(node, where="#"):
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _dicts(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _dicts(item, f"{where}/{i}")


async def test_fields_always_answered_are_required(spec):
    schemas = spec["components"]["schemas"]
    for name, schema in schemas.items():
        if name.endswith("Page"):
            assert "next_cursor" in schema["required"], name
    assert "token_type" in schemas["TokenResponse"]["required"]
    assert set(schemas["ProposalPublic"]["required"]) == set(
        schemas["ProposalPublic"]["properties"]
    )
    # Shared with requests: a copy for responses, everything required there.
    assert "municipality_ids" not in schemas["Eligibility"].get("required", [])
    output = schemas["EligibilityOutput"]
    assert set(output["required"]) == set(output["properties"])
    table = schemas["TablePublic"]["properties"]["eligibility"]
    assert SCHEMAS + "EligibilityOutput" in str(table)


async def test_every_status_is_declared_and_one_shape_per_response(spec):
    paths = spec["paths"]
    for path, method in (
        ("/v1/tables/{table_id}/memberships", "post"),
        ("/v1/meetings/{meeting_id}/registrations", "post"),
        ("/v1/proposals/{proposal_id}/support", "put"),
        ("/v1/plans/import", "post"),
    ):
        responses = paths[path][method]["responses"]
        assert (
            responses["200"]["content"]["application/json"]["schema"]
            == (responses["201"]["content"]["application/json"]["schema"])
        )
    for name, operation in operations(spec):
        for status, media, schema in success_schemas(operation):
            if name != "POST /v1/auth/token":  # by grant_type: a person's or a client's
                assert "anyOf" not in schema and "oneOf" not in schema, (name, status)
            assert schema, (name, status, media)
    ref = {"$ref": SCHEMAS + "NodeItemPage"}
    assert paths["/v1/plans/{plan_id}/nodes"]["get"]["responses"]["200"]["content"] == {
        "application/json": {"schema": ref}
    }
    tree = paths["/v1/plans/{plan_id}/nodes/tree"]["get"]["responses"]["200"]
    assert tree["content"]["application/json"]["schema"] == {"$ref": SCHEMAS + "NodeTree"}
    progress = paths["/v1/plans/{plan_id}/progress"]["get"]["responses"]["200"]["content"]
    assert set(progress) == {"application/json", "text/csv"}
    csv = paths["/v1/plans/{plan_id}/progress.csv"]["get"]["responses"]["200"]
    assert set(csv["content"]) == {"text/csv"}
    similar = paths["/v1/tables/{table_id}/proposals/similar"]["post"]
    assert similar["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": SCHEMAS + "SimilarCheck"
    }
    hidden = {"format", "check_similar"}
    for path in ("/v1/plans/{plan_id}/nodes", "/v1/plans/{plan_id}/progress"):
        assert not hidden & {p["name"] for p in paths[path]["get"]["parameters"]}
    create = paths["/v1/tables/{table_id}/proposals"]["post"]
    assert not hidden & {p["name"] for p in create["parameters"]}
    assert set(create["responses"]) & {"200", "201"} == {"201"}


async def test_optional_bodies_can_be_left_out(spec):
    body = spec["paths"]["/v1/tables/{table_id}/memberships"]["post"]["requestBody"]
    assert body["required"] is False
    assert body["content"]["application/json"]["schema"] == {"$ref": SCHEMAS + "MembershipInvite"}


async def test_response_headers_are_declared(spec):
    headers = spec["components"]["headers"]
    assert set(headers) >= {
        "ETag",
        "Location",
        "Retry-After",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "Idempotent-Replayed",
        "X-Request-ID",
        "Content-Disposition",
    }
    for name, operation in operations(spec):
        for status, response in operation["responses"].items():
            declared = response["headers"]
            assert declared["X-Request-ID"] == {"$ref": "#/components/headers/X-Request-ID"}
            if status == "201":
                assert "Location" in declared, name
            if status == "4XX":
                assert {"Retry-After", "RateLimit-Remaining"} <= declared.keys(), name
    paths = spec["paths"]
    assert "ETag" in paths["/v1/proposals/{proposal_id}"]["get"]["responses"]["200"]["headers"]
    assert "ETag" in paths["/v1/proposals/{proposal_id}"]["patch"]["responses"]["200"]["headers"]
    create = paths["/v1/tables/{table_id}/proposals"]["post"]["responses"]["201"]["headers"]
    assert {"Location", "ETag", "Idempotent-Replayed", "RateLimit-Limit"} <= create.keys()
    csv = paths["/v1/plans/{plan_id}/progress.csv"]["get"]["responses"]["200"]["headers"]
    assert "Content-Disposition" in csv
    token = paths["/v1/auth/token"]["post"]["responses"]["200"]["headers"]
    assert "Idempotent-Replayed" not in token  # never stored: its answers are secrets


async def test_document_metadata(spec):
    info = spec["info"]
    assert info["license"]["identifier"] == "AGPL-3.0-or-later"
    assert info["contact"]["url"] and info["x-api-id"] == "consulta-api-v1"
    assert spec["servers"] and spec["servers"][0]["url"]


async def test_examples_validate_against_their_schemas(spec):
    from app.openapi_examples import SCHEMA_EXAMPLES

    for name in SCHEMA_EXAMPLES:
        schema = {"$ref": SCHEMAS + name, "components": spec["components"]}
        examples = spec["components"]["schemas"][name]["examples"]
        for example in examples:
            errors = [e.message for e in Draft202012Validator(schema).iter_errors(example)]
            assert not errors, (name, errors)
    assert len(SCHEMA_EXAMPLES) >= 10


async def test_the_document_passes_the_openapi_linters(spec):
    """The OpenAPI 3.1 meta-schema (openapi-spec-validator), then the rules of Spectral's
    `spectral:oas` ruleset that concern generated clients, written out here (no Python
    port of Spectral exists)."""
    from openapi_spec_validator import validate

    validate(spec)
    problems: list[str] = []
    tags = {tag["name"] for tag in spec["tags"]}
    for name, operation in operations(spec):
        path = name.split(" ", 1)[1]
        if not operation.get("summary") and not operation.get("description"):
            problems.append(f"operation-description: {name}")
        if not set(operation.get("tags", [])) <= tags:
            problems.append(f"operation-tag-defined: {name}")
        if not any(status.startswith(("2", "3")) for status in operation["responses"]):
            problems.append(f"operation-success-response: {name}")
        if not re.fullmatch(r"[A-Za-z0-9_.~-]+", operation["operationId"]):
            problems.append(f"operation-operationId-valid-in-url: {name}")
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        if declared != set(re.findall(r"{([^}:]+)", path)):
            problems.append(f"path-params: {name}")
        seen = [(p["name"], p["in"]) for p in operation.get("parameters", [])]
        if len(seen) != len(set(seen)):
            problems.append(f"operation-parameters: {name}")
    for item in ("contact", "license", "description"):
        if not spec["info"].get(item):
            problems.append(f"info-{item}")
    if not all(tag.get("description") for tag in spec["tags"]):
        problems.append("tag-description")
    used = {ref.rsplit("/", 1)[1] for _, ref in refs(spec) if ref.startswith(SCHEMAS)}
    unused = set(spec["components"]["schemas"]) - used
    problems.extend(f"oas3-unused-component: {n}" for n in sorted(unused))
    assert problems == []
