from tests.helpers import assert_problem


async def test_health_and_ready(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}
    assert response.headers["x-request-id"]


async def test_unknown_route_is_problem_json(client):
    assert_problem(await client.get("/nope"), 404, "not_found")


async def test_listing_organizations_costs_a_fixed_number_of_queries(
    client, session, query_counter
):
    from tests.factories import make_org

    for _ in range(3):
        await make_org(session)
    query_counter.reset()
    small = await client.get("/v1/organizations?limit=2")
    few = query_counter.count
    for _ in range(10):
        await make_org(session)
    query_counter.reset()
    large = await client.get("/v1/organizations?limit=12")
    assert small.status_code == large.status_code == 200
    assert len(large.json()["items"]) == 12
    assert query_counter.count == few  # not one query per organization
