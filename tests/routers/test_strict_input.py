"""Numbers are not dates and words are not booleans: what a lenient parser would read
into them (1970 from 12345, true from "yes") is refused with a 422 naming the field."""

import pytest

from tests.factories import commit_setup, make_scene
from tests.helpers import assert_problem, bearer

MEETING = {
    "title": {"it": "Incontro"},
    "starts_at": "2030-04-28T16:00:00+02:00",
    "ends_at": "2030-04-28T18:00:00+02:00",
}
POLL = {
    "question": {"it": "Dove?"},
    "options": [{"label": {"it": "Bari"}}, {"label": {"it": "Molfetta"}}],
    "closes_at": "2030-04-28T16:00:00+02:00",
}


@pytest.mark.parametrize("value", [12345, -1, 1.5, "12345", "1714000000"])
async def test_date_times_must_be_iso_strings(client, session, value):
    scene = await make_scene(session)
    await commit_setup(session)
    headers = bearer(scene.facilitator)
    cases = [
        (f"/v1/tables/{scene.table.id}/meetings", {**MEETING, "starts_at": value}, "starts_at"),
        (f"/v1/tables/{scene.table.id}/polls", {**POLL, "closes_at": value}, "closes_at"),
    ]
    for url, body, field in cases:
        problem = assert_problem(await client.post(url, json=body, headers=headers), 422)
        assert any(e["loc"][-1] == field for e in problem["errors"]), problem
    patched = await client.patch(
        f"/v1/meetings/{scene.meeting.id}", json={"ends_at": value}, headers=headers
    )
    assert_problem(patched, 422)
    meetings = (await client.get(f"/v1/tables/{scene.table.id}/meetings")).json()["items"]
    assert [m["id"] for m in meetings] == [str(scene.meeting.id)]
    assert meetings[0]["ends_at"] != "1970-01-01T00:00:00Z"


async def test_days_must_be_iso_strings(client):
    problem = assert_problem(
        await client.post(
            "/v1/auth/register",
            json={
                "email": "numeri@example.org",
                "password": "una frase lunga",
                "display_name": "N",
                "birth_date": 20000101,
            },
        ),
        422,
    )
    assert problem["errors"][0]["loc"][-1] == "birth_date"


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "on"])
async def test_switches_must_be_true_or_false(client, session, value):
    scene = await make_scene(session)
    await commit_setup(session)
    url = f"/v1/tables/{scene.table.id}/settings"
    headers = bearer(scene.facilitator)
    before = (await client.get(url, headers=headers)).json()
    for field in ("proposals_open", "comments_open", "premoderation"):
        assert_problem(await client.patch(url, json={field: value}, headers=headers), 422)
    assert (await client.get(url, headers=headers)).json() == before
    ok = await client.patch(url, json={"comments_open": False}, headers=headers)
    assert ok.status_code == 200 and ok.json()["comments_open"] is False
