"""HTTP conventions on every answer (app/conventions.py): conditional GETs and their
validators, HEAD, caching headers, Location on every 201, one date-time form."""

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Match, Route

from app.config import get_settings
from app.conventions import HttpConventions
from app.locations import CREATED
from app.main import create_app
from tests.factories import commit_setup, make_proposal, make_scene
from tests.helpers import assert_problem, bearer, make_client

ONE_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
ANY_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


async def test_if_none_match_gives_304_with_the_same_validators(client, session):
    s = await make_scene(session)
    await commit_setup(session)
    url = f"/v1/proposals/{s.proposal.id}"
    first = await client.get(url, headers=bearer(s.member))
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert re.fullmatch(rf'"{s.proposal.version}\.[0-9a-f]{{20}}"', etag)
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert "Authorization" in first.headers["Vary"]

    again = await client.get(url, headers={**bearer(s.member), "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == "private, no-cache"
    assert "content-type" not in again.headers
    # A list of tags, and weak comparison, as RFC 9110 asks.
    listed = await client.get(
        url, headers={**bearer(s.member), "If-None-Match": f'"other", W/{etag}'}
    )
    assert listed.status_code == 304
    stale = await client.get(url, headers={**bearer(s.member), "If-None-Match": '"other"'})
    assert stale.status_code == 200 and stale.json() == first.json()


async def test_the_etag_changes_with_a_counter_but_if_match_compares_the_version(client, session):
    s = await make_scene(session)
    await commit_setup(session)
    url = f"/v1/proposals/{s.proposal.id}"
    author = bearer(s.author)
    before = await client.get(url, headers=author)
    etag = before.headers["ETag"]
    supported = await client.put(f"{url}/support", headers=bearer(s.member))
    assert supported.status_code == 201, supported.text

    after = await client.get(url, headers={**author, "If-None-Match": etag})
    assert after.status_code == 200  # the count changed: a new representation
    assert after.json()["supports_count"] == before.json()["supports_count"] + 1
    assert after.headers["ETag"] != etag
    version = s.proposal.version
    assert after.headers["ETag"].startswith(f'"{version}.')  # the same version

    # The author edits with the tag read before the support: not a 412.
    edited = await client.patch(
        url, headers={**author, "If-Match": etag}, json={"title": "Un titolo nuovo, più chiaro"}
    )
    assert edited.status_code == 200, edited.text
    assert edited.headers["ETag"] == f'"{version + 1}"'
    # The old version's tag (either form) is now stale.
    for old in (etag, f'"{version}"'):
        refused = await client.patch(
            url, headers={**author, "If-Match": old}, json={"title": "Ancora un altro titolo"}
        )
        assert_problem(refused, 412, "stale_etag")


async def test_lists_have_validators_and_anonymous_reads_are_no_cache(client, session):
    s = await make_scene(session)
    await make_proposal(session, s.table, s.member, title="Una seconda proposta")
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals"
    first = await client.get(url)
    assert first.status_code == 200 and len(first.json()["items"]) == 2
    assert first.headers["Cache-Control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{20}"', first.headers["ETag"])
    again = await client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    # Another query, another representation.
    other = await client.get(f"{url}?limit=1", headers={"If-None-Match": first.headers["ETag"]})
    assert other.status_code == 200


async def test_head_answers_every_get_without_a_body(client, session):
    s = await make_scene(session)
    await commit_setup(session)
    for url in (
        f"/v1/proposals/{s.proposal.id}",
        f"/v1/tables/{s.table.id}/proposals",
        f"/v1/organizations/{s.org.slug}",
        f"/v1/tables/{s.table.id}/calendar.ics",
    ):
        get = await client.get(url)
        head = await client.head(url)
        assert head.status_code == 200, url
        assert head.content == b""
        assert head.headers["content-length"] == str(len(get.content))
        assert head.headers["ETag"] == get.headers["ETag"]
        assert head.headers["content-type"] == get.headers["content-type"]
    missing = await client.head("/v1/proposals/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.content == b""


async def test_public_calendars_are_cacheable_by_anyone(client, session):
    s = await make_scene(session)
    await commit_setup(session)
    response = await client.get(f"/v1/tables/{s.table.id}/calendar.ics")
    assert response.status_code == 200
    assert re.fullmatch(r"public, max-age=\d+", response.headers["Cache-Control"])
    signed_in = await client.get(f"/v1/tables/{s.table.id}/calendar.ics", headers=bearer(s.member))
    assert signed_in.headers["Cache-Control"] == "private, no-cache"


async def test_last_modified_is_the_documents_updated_at(client, session):
    s = await make_scene(session)
    await commit_setup(session)
    response = await client.get(f"/v1/organizations/{s.org.slug}")
    updated = datetime.fromisoformat(response.json()["updated_at"])
    assert response.headers["Last-Modified"] == updated.strftime("%a, %d %b %Y %H:%M:%S GMT")


def test_every_operation_that_creates_names_its_location():
    app = create_app()
    routes = list(iter_route_contexts(app.routes))
    creating = set()
    for context in routes:
        route = context.route
        if not isinstance(route, APIRoute):
            continue
        statuses = {route.status_code} | {int(k) for k in route.responses if str(k).isdigit()}
        if 201 in statuses:
            creating |= {f"{method} {context.path}" for method in context.methods or ()}
    assert creating == set(CREATED), "add the operation's Location to app/locations.py"
    for operation, templates in CREATED.items():
        for template in templates:
            path = template.replace("{b[target_type]}", "proposal")
            path = re.sub(r"\{[^}]*\}", "00000000-0000-0000-0000-000000000001", path)
            scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
            served = [c for c in routes if c.route.matches(scope)[0] != Match.NONE]
            assert served, f"{operation}: {template} is not an address the API serves"


async def test_created_answers_carry_their_location(client, session):
    s = await make_scene(session)
    await commit_setup(session)
    admin = bearer(s.admin)
    created = [
        await client.post(
            f"/v1/organizations/{s.org.slug}/tables",
            headers=admin,
            json={"slug": "mobilita", "name": {"it": "Mobilità sostenibile"}},
        ),
        await client.post(
            f"/v1/proposals/{s.proposal.id}/comments",
            headers=bearer(s.member),
            json={"body": "Sono d'accordo, servono spazi per lavorare insieme."},
        ),
        await client.put(f"/v1/proposals/{s.proposal.id}/support", headers=bearer(s.member)),
    ]
    for response in created:
        assert response.status_code == 201, response.text
        location = response.headers["Location"]
        assert (await client.get(location, headers=admin)).status_code in (200, 405), location
    assert created[0].headers["Location"] == f"/v1/tables/{created[0].json()['id']}"
    table = await client.get(created[0].headers["Location"], headers=admin)
    assert table.status_code == 200 and table.json()["slug"] == "mobilita"


def _datetimes(value, where="$"):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _datetimes(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _datetimes(item, f"{where}[{i}]")
    elif isinstance(value, str) and ANY_DATETIME.match(value):
        yield where, value


async def test_one_datetime_form_in_every_answer(client, session):
    s = await make_scene(session)
    await commit_setup(session)
    member = bearer(s.member)
    # A meeting created with a +02:00 offset answers in UTC.
    meeting = await client.post(
        f"/v1/tables/{s.table.id}/meetings",
        headers=bearer(s.facilitator),
        json={
            "title": {"it": "Assemblea"},
            "starts_at": "2030-04-28T16:00:00+02:00",
            "ends_at": "2030-04-28T18:00:00.5+02:00",
        },
    )
    assert meeting.status_code == 201, meeting.text
    assert meeting.json()["starts_at"] == "2030-04-28T14:00:00.000000Z"
    assert meeting.json()["ends_at"] == "2030-04-28T16:00:00.500000Z"
    urls = [
        f"/v1/proposals/{s.proposal.id}",
        f"/v1/tables/{s.table.id}/proposals",
        f"/v1/tables/{s.table.id}",
        f"/v1/tables/{s.table.id}/meetings",
        f"/v1/meetings/{s.meeting.id}",
        f"/v1/organizations/{s.org.slug}",
        f"/v1/plans/{s.plan.id}",
        f"/v1/proposals/{s.proposal.id}/comments",
        "/v1/me",
    ]
    seen = 0
    for url in urls:
        response = await client.get(url, headers=member)
        assert response.status_code == 200, url
        for where, value in _datetimes(response.json()):
            seen += 1
            assert ONE_FORM.match(value), f"{url} {where}: {value}"
            assert datetime.fromisoformat(value).tzinfo == UTC
    assert seen > 20


async def test_streams_pass_through_and_head_cuts_them_after_the_headers():
    """A stream (no Content-Length) is never buffered: no ETag, and HEAD answers with the
    headers alone even when the stream would never end (server-sent events)."""
    chunks_sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        while True:
            chunks_sent += 1
            yield b"data: tick\n\n"
            await asyncio.sleep(0)

    async def finite() -> AsyncIterator[bytes]:
        for row in (b"a,b\r\n", b"1,2\r\n"):
            yield row

    async def events(request: Request) -> StreamingResponse:
        return StreamingResponse(endless(), media_type="text/event-stream")

    async def csv(request: Request) -> StreamingResponse:
        return StreamingResponse(finite(), media_type="text/csv")

    app = HttpConventions(Starlette(routes=[Route("/events", events), Route("/export.csv", csv)]))
    async with make_client(app) as client:
        head = await asyncio.wait_for(client.head("/events"), timeout=30)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-type"].startswith("text/event-stream")
        assert chunks_sent <= 2
        export = await client.get("/export.csv")
        assert export.content == b"a,b\r\n1,2\r\n"
        assert "etag" not in export.headers and export.headers["Cache-Control"] == "no-cache"


async def test_vary_keeps_what_cors_set(session, monkeypatch):
    monkeypatch.setattr(get_settings(), "cors_origins", ["https://partecipa.example.org"])
    async with make_client(create_app()) as client:
        response = await client.get(
            "/v1/organizations", headers={"Origin": "https://partecipa.example.org"}
        )
    assert response.status_code == 200
    vary = {v.strip() for v in response.headers["Vary"].split(",")}
    assert {"Origin", "Authorization", "Accept-Language"} <= vary
    assert "ETag" in response.headers["access-control-expose-headers"]
