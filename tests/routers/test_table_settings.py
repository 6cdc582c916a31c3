"""A table's participation settings: defaults, who may read and change them, If-Match."""

from sqlmodel import col, select

from app.models.events import Event
from app.models.tables import TableSettings
from app.services.tables.table_settings import get_table_settings
from tests.factories import add_member, commit_setup, make_scene, make_table, make_user
from tests.helpers import assert_problem, bearer

DEFAULTS = {
    "proposals_open": True,
    "supports": "enabled",
    "support_limit": 0,
    "support_threshold": 0,
    "edit_window_minutes": 15,
    "comments_open": True,
    "premoderation": None,
    # No age rule: the table admits minors, so new content waits for approval.
    "premoderation_effective": True,
}


async def test_defaults_are_readable_by_whoever_sees_the_table(client, session):
    s = await make_scene(session, content=False, premoderation=None)
    private = await make_table(session, s.org, visibility="private", premoderation=None)
    await commit_setup(session)
    response = await client.get(f"/v1/tables/{s.table.id}/settings")
    assert response.status_code == 200
    assert response.json() == {"table_id": str(s.table.id), **DEFAULTS}
    assert response.headers["ETag"].startswith('"1.')  # the version, then a hash
    # Reading writes nothing.
    assert (await session.exec(select(TableSettings))).all() == []
    settings = await get_table_settings(session, s.table.id)
    assert settings.support_limit == 0 and settings.comments_open is True
    assert_problem(
        await client.get(f"/v1/tables/{private.id}/settings", headers=bearer(s.member)), 404
    )


async def test_facilitators_change_the_settings(client, session):
    s = await make_scene(session, content=False, premoderation=None)
    other_table = await make_table(session, s.org, premoderation=None)
    other_facilitator = await make_user(session)
    await add_member(session, other_table, other_facilitator, role="facilitator")
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/settings"
    change = {
        "supports": "hidden",
        "support_limit": 3,
        "support_threshold": 50,
        "edit_window_minutes": 30,
        "proposals_open": False,
    }
    for person in (s.member, other_facilitator):
        assert_problem(await client.patch(url, json=change, headers=bearer(person)), 404)
    assert_problem(await client.patch(url, json=change), 401)
    response = await client.patch(
        url, json=change, headers=bearer(s.facilitator) | {"If-Match": '"1"'}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"table_id": str(s.table.id), **DEFAULTS, **change}
    assert response.headers["ETag"] == '"2"'
    assert_problem(
        await client.patch(
            url, json={"support_limit": 1}, headers=bearer(s.admin) | {"If-Match": '"1"'}
        ),
        412,
        "stale_etag",
    )
    # Organization admins may change them too; an unchanged value is not a change.
    again = await client.patch(
        url, json={"support_limit": 3, "comments_open": False}, headers=bearer(s.admin)
    )
    assert again.status_code == 200 and again.json()["comments_open"] is False
    assert again.headers["ETag"] == '"3"'
    stored = await get_table_settings(session, s.table.id)
    assert (stored.supports, stored.support_limit, stored.comments_open) == ("hidden", 3, False)
    events = (
        await session.exec(
            select(Event)
            .where(col(Event.type) == "table.settings_updated")
            .order_by(col(Event.seq))
        )
    ).all()
    assert [e.payload["fields"] for e in events] == [
        ["edit_window_minutes", "proposals_open", "support_limit", "support_threshold", "supports"],
        ["comments_open"],
    ]
    assert events[0].subject_id == s.table.id and events[0].actor_id == s.facilitator.id


async def test_settings_are_validated(client, session):
    s = await make_scene(session, content=False, premoderation=None)
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/settings"
    headers = bearer(s.facilitator)
    for bad in (
        {"supports": "sometimes"},
        {"support_limit": -1},
        {"edit_window_minutes": 100_000},
        {"support_limit": None},
        {"colour": "red"},
    ):
        body = assert_problem(await client.patch(url, json=bad, headers=headers), 422)
        assert body["errors"][0]["loc"][:2] == ["body", next(iter(bad))]
    assert (await session.exec(select(TableSettings))).all() == []
