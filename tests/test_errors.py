"""Every error class answers application/problem+json, with the request id."""

import re

import pytest
from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import col, select

from app.db import SessionDep
from app.middleware import RejectNulMiddleware
from app.models.accounts import User
from app.models.proposals import Proposal
from tests.factories import PASSWORD, make_org, make_scene, make_user
from tests.helpers import assert_problem, auth_headers, bearer


async def test_unknown_route_404(client):
    response = await client.get("/v1/no-such-thing")
    assert_problem(response, 404, "not_found")
    assert response.headers["x-request-id"]


async def test_wrong_method_405(client):
    assert_problem(await client.put("/v1/organizations"), 405, "method_not_allowed")


async def test_bad_body_422_lists_each_field(client):
    response = await client.post("/v1/auth/register", json={"email": 3, "password": []})
    problem = assert_problem(response, 422, "validation_error")
    locs = {tuple(e["loc"]) for e in problem["errors"]}
    assert ("body", "email") in locs and ("body", "password") in locs
    assert ("body", "display_name") in locs
    for error in problem["errors"]:
        assert set(error) == {"loc", "msg", "code"}


async def test_malformed_json_422(client):
    response = await client.post(
        "/v1/auth/register", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 422, "validation_error")


async def test_too_large_413(client):
    big = "x" * (70 * 1024)
    response = await client.post(
        "/v1/auth/register", json={"email": "a@example.org", "password": big, "display_name": "A"}
    )
    assert_problem(response, 413, "payload_too_large")


async def test_too_large_streamed_without_length_413(client):
    async def chunks():
        for _ in range(100):
            yield b"x" * 1024

    response = await client.post(
        "/v1/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413, "payload_too_large")


async def test_unauthenticated_401(client):
    response = await client.get("/v1/me")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_forbidden_403_and_hidden_404(client, session):
    user = await make_user(session)
    headers = await auth_headers(client, user)
    assert_problem(
        await client.post(
            "/v1/organizations", headers=headers, json={"slug": "nuova-citta", "name": "Nuova"}
        ),
        403,
        "not_platform_admin",
    )
    org = await make_org(session)
    assert_problem(await client.get(f"/v1/organizations/{org.slug}/roles", headers=headers), 404)


async def test_conflict_409(client, session):
    admin = await make_user(session, platform_admin=True)
    await make_org(session, slug="gia-presente")
    assert_problem(
        await client.post(
            "/v1/organizations",
            headers=await auth_headers(client, admin),
            json={"slug": "gia-presente", "name": "Duplicate"},
        ),
        409,
        "slug_taken",
    )


async def test_crash_500_hides_internals(app, client):
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    app.include_router(router)
    response = await client.get("/boom", headers={"X-Request-ID": "req-12345"})
    problem = assert_problem(response, 500, "internal_error")
    assert "secret" not in response.text and "Traceback" not in response.text
    assert problem["detail"]
    assert response.headers["x-request-id"] == "req-12345"


async def test_no_free_database_connection_is_a_503_with_retry_after(app, client):
    router = APIRouter()

    @router.get("/busy")
    async def busy() -> None:
        raise PoolTimeout("QueuePool limit of size 10 overflow 10 reached")

    @router.get("/file")
    async def file() -> None:
        raise FileNotFoundError("/etc/consulta/missing")  # not the database's

    app.include_router(router)
    response = await client.get("/busy")
    assert_problem(response, 503, "service_busy")
    assert response.headers["retry-after"] == "5"
    assert "QueuePool" not in response.text
    assert_problem(await client.get("/file"), 500, "internal_error")


async def test_problem_instance_is_a_valid_uri_reference(client):
    response = await client.get('/v1/organizations/a b/è%zz/"<x>')
    problem = assert_problem(response, 404)
    assert problem["instance"] == "/v1/organizations/a%20b/%C3%A8%25zz/%22%3Cx%3E"
    assert re.fullmatch(r"[A-Za-z0-9/:@!$&'()*+,;=._~%-]*", problem["instance"])


async def test_request_id_is_generated_or_echoed(client):
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) >= 16
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    unsafe = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


async def test_invalid_cursor_422(client):
    assert_problem(await client.get("/v1/organizations?cursor=%%%garbage"), 422, "invalid_cursor")
    assert_problem(await client.get("/v1/organizations?limit=1000"), 422, "validation_error")


# --- NUL characters (PostgreSQL cannot store U+0000) -------------------------------------


def assert_invalid_character(response, *locs):
    problem = assert_problem(response, 422, "invalid_character")
    assert response.headers["x-request-id"]
    if locs:
        assert [e["loc"] for e in problem["errors"]] == [list(loc) for loc in locs]
        assert all(e["code"] == "invalid_character" for e in problem["errors"])
    return problem


async def users_with_email(session, email):
    return (await session.exec(select(User).where(col(User.email) == email))).all()


def registration(email, **fields):
    return {"email": email, "password": PASSWORD, "display_name": "Maria", **fields}


async def test_nul_escape_in_json_body_422_and_nothing_written(client, session):
    response = await client.post(
        "/v1/auth/register", json=registration("nul@example.org", display_name="Ma\x00ria")
    )
    assert_invalid_character(response, ("body", "display_name"))
    assert await users_with_email(session, "nul@example.org") == []


async def test_raw_nul_byte_in_json_body_422(client, session):
    body = b'{"email": "raw@example.org", "password": "x", "display_name": "A\x00"}'
    response = await client.post(
        "/v1/auth/register", content=body, headers={"Content-Type": "application/json"}
    )
    assert_invalid_character(response, ("body",))
    assert await users_with_email(session, "raw@example.org") == []


async def test_escaped_backslash_before_u0000_is_not_a_nul(client, session):
    # JSON "a\\u0000b" is the six characters a, \, u, 0, 0, 0, 0, b: no NUL in it.
    response = await client.post(
        "/v1/auth/register",
        json=registration("backslash@example.org", display_name="a\\u0000b"),
    )
    assert response.status_code == 201, response.text
    [user] = await users_with_email(session, "backslash@example.org")
    assert user.display_name == "a\\u0000b"


async def test_nul_in_form_body_of_token_endpoint_422(client, session):
    user = await make_user(session)
    response = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "a\x00", "password": PASSWORD},
    )
    assert_invalid_character(response, ("body", "username"))
    # The same form without the NUL still works.
    ok = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": user.email, "password": PASSWORD},
    )
    assert ok.status_code == 200, ok.text


async def test_nul_in_profile_edit_422_and_unchanged(client, session):
    user = await make_user(session, name="Prima")
    response = await client.patch("/v1/me", json={"display_name": "Dopo\x00"}, headers=bearer(user))
    assert_invalid_character(response, ("body", "display_name"))
    me = await client.get("/v1/me", headers=bearer(user))
    assert me.json()["display_name"] == "Prima"


async def test_nul_in_proposal_create_422_and_nothing_written(client, session):
    s = await make_scene(session, content=False)
    url = f"/v1/tables/{s.table.id}/proposals"
    proposal = {
        "title": "Coworking per i giovani",
        "body": "Chiediamo più spazi di coworking gratuiti\x00 per i giovani dell'area.",
        "node_ids": [str(s.nodes["1"].id), "\x00"],
    }
    response = await client.post(url, json=proposal, headers=bearer(s.member))
    assert_invalid_character(response, ("body", "body"), ("body", "node_ids", 1))
    assert (await session.exec(select(Proposal))).all() == []


async def test_nul_in_query_string_422(client, session):
    s = await make_scene(session, content=False)
    url = f"/v1/tables/{s.table.id}/proposals"
    assert_invalid_character(await client.get(f"{url}?q=bici%00"), ("query", "q"))
    assert_invalid_character(await client.get(f"{url}?limit=5&q=%00bici"), ("query", "q"))
    assert (await client.get(f"{url}?q=bici")).status_code == 200


async def test_nul_in_path_422(client):
    problem = assert_invalid_character(await client.get("/v1/organizations/a%00b"), ("path",))
    assert "instance" not in problem


async def test_nul_reaching_the_database_is_422_not_500(app, client, session):
    """The safety net: with the edge check taken out, PostgreSQL's refusal (sqlstate
    22021) answers the same 422 and the request's writes are rolled back."""
    app.user_middleware = [m for m in app.user_middleware if m.cls is not RejectNulMiddleware]
    response = await client.post(
        "/v1/auth/register", json=registration("net@example.org", display_name="Ma\x00ria")
    )
    assert_invalid_character(response)
    assert await users_with_email(session, "net@example.org") == []
    assert_invalid_character(
        await client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": "a\x00", "password": PASSWORD},
        )
    )


@pytest.mark.parametrize(
    ("sql", "status", "code"),
    [
        ("SELECT CAST(:v AS text)", 422, "invalid_character"),
        ("SELECT CAST(:v AS jsonb)", 422, "invalid_character"),
        ("SELECT CAST(:v AS integer)", 500, "internal_error"),
    ],
)
async def test_database_errors_from_a_route(app, client, sql, status, code):
    values = {
        "SELECT CAST(:v AS text)": "a\x00",
        "SELECT CAST(:v AS jsonb)": '"a\\u0000"',
        "SELECT CAST(:v AS integer)": "not a number",
    }
    router = APIRouter()

    @router.get("/db")
    async def db(session: SessionDep) -> None:
        connection = await session.connection()
        await connection.execute(text(sql), {"v": values[sql]})

    app.include_router(router)
    response = await client.get("/db")
    problem = assert_problem(response, status, code)
    assert "errors" not in problem
    assert "CAST" not in response.text


# --- 405: every method the path accepts ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/organizations", "GET, HEAD, POST"),
        ("PUT", "/v1/me", "GET, HEAD, PATCH, DELETE"),
        ("POST", "/healthz", "GET, HEAD"),  # HEAD wherever GET is
    ],
)
async def test_405_allow_lists_every_route_on_the_path(client, method, path, allowed):
    response = await client.request(method, path)
    problem = assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed
    assert method in problem["detail"] and allowed in problem["detail"]
    assert problem["instance"] == path


def _concrete_paths() -> dict[str, tuple[str, set[str]]]:
    """Every route template with a concrete path (ids filled in) and its methods."""
    from fastapi.routing import iter_route_contexts

    from app.main import create_app

    templates: dict[str, set[str]] = {}
    for route in iter_route_contexts(create_app().routes):
        template = route.path_format
        if route.methods and template and template.startswith("/v1/"):
            templates.setdefault(template, set()).update(route.methods)
    fixed_id = "6aae6436-dd24-4d64-803a-f50aede2849f"
    return {
        template: (re.sub(r"\{[^}]+\}", fixed_id, template), methods)
        for template, methods in templates.items()
    }


@pytest.mark.parametrize("template", sorted(_concrete_paths()))
async def test_a_method_a_path_does_not_accept_is_405_even_beside_a_parameter(client, template):
    """`PATCH /v1/meetings/{id}.ics` and `PATCH /v1/plans/import` used to match the
    `{meeting_id}`/`{plan_id}` routes and answer 422 for a malformed id: every method a
    path does not accept is a 405 listing those it does, signed in or not."""
    path, methods = _concrete_paths()[template]
    for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - methods):
        response = await client.request(method, path, json={})
        problem = assert_problem(response, 405, "method_not_allowed")
        allowed = methods | {"HEAD"} if "GET" in methods else methods  # HEAD: every GET
        assert set(response.headers["allow"].split(", ")) == allowed, (method, path)
        assert problem["instance"] == path
