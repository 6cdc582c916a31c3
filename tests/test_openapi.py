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
