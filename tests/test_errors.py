"""Every error class answers application/problem+json, with the request id."""

from fastapi import APIRouter

from tests.helpers import assert_problem, auth_headers, make_org, make_user


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
