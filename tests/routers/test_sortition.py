"""Sortition of table members: configuration, applications, feasibility, draws,
probabilities, replacements, composition, privacy."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from app.models.sortition import SortitionConfig, SortitionDraw
from app.models.tables import TableMembership
from app.services.sortition.members import keeps_quotas
from tests.factories import (
    AGE_BAND,
    GENDER,
    PASSWORD,
    add_member,
    applicants_by_key,
    application_of,
    audit_actions,
    commit_setup,
    configure_sortition,
    make_applicants,
    make_scene,
    make_user,
    pool,
    run_draw,
)
from tests.helpers import assert_problem, bearer

CONFIG: dict[str, Any] = {
    "features": [
        {
            "name": "gender",
            "label": "Genere",
            "values": [{"value": "f", "share": 0.5}, {"value": "m", "share": 0.5}],
        },
        {
            "name": "age",
            "source": "age",
            "values": [
                {"value": "16-24", "age_from": 16, "age_to": 24, "min": 1},
                {"value": "25-35", "age_from": 25, "age_to": 35},
            ],
        },
    ],
    "number_to_select": 4,
    "seed": 424242,
    "seed_source": "Lotto, 7 dicembre 2026, ruota di Bari",
}


def url(table_id: object, tail: str = "") -> str:
    return f"/v1/tables/{table_id}/sortition{tail}"


async def reread(session, draw_id: uuid.UUID) -> SortitionDraw:
    stmt = select(SortitionDraw).where(col(SortitionDraw.id) == draw_id)
    draw: SortitionDraw = (await session.exec(stmt.execution_options(populate_existing=True))).one()
    return draw


async def active_members(session, table) -> set[uuid.UUID]:
    rows = await session.exec(
        select(TableMembership.user_id).where(
            col(TableMembership.table_id) == table.id,
            col(TableMembership.status) == "active",
            col(TableMembership.role) == "member",
        )
    )
    return set(rows.all())


async def test_a_facilitator_sets_the_sortition_and_the_public_sees_quotas_and_seed(
    client, session
):
    s = await make_scene(session, content=False)
    outsider = await make_user(session)
    await commit_setup(session)
    denied = await client.put(url(s.table.id), json=CONFIG, headers=bearer(s.member))
    assert_problem(denied, 404, "not_found")

    response = await client.put(url(s.table.id), json=CONFIG, headers=bearer(s.facilitator))
    assert response.status_code == 200, response.text
    public = (await client.get(url(s.table.id))).json()
    assert public["seed"] == 424242 and public["seed_published_at"] is not None
    assert public["features"][0]["values"][0]["share"] == 0.5
    assert public["applications_count"] == 0 and public["drawn"] is False
    table = (await client.get(f"/v1/tables/{s.table.id}")).json()
    assert table["membership_policy"] == "sortition"
    actions = [a.action for a in await audit_actions(session, "table", s.table.id)]
    assert actions == ["sortition.configured", "sortition.seed_published"]

    # Same seed again: configured, not re-published.
    again = await client.put(url(s.table.id), json=CONFIG, headers=bearer(s.facilitator))
    assert again.json()["seed_published_at"] == public["seed_published_at"]
    joined = await client.post(f"/v1/tables/{s.table.id}/memberships", headers=bearer(outsider))
    assert_problem(joined, 403, "sortition_apply_instead")


async def test_inconsistent_quotas_are_refused_and_leximin_is_offered(client, session):
    s = await make_scene(session, content=False)
    await commit_setup(session)
    bad = {**CONFIG, "features": [{**CONFIG["features"][1], "values": [{"value": "x"}]}]}
    body = assert_problem(
        await client.put(url(s.table.id), json=bad, headers=bearer(s.facilitator)),
        422,
        "sortition_invalid_quotas",
    )
    assert body["errors"][0]["loc"] == ["body", "features", 0, "values", 0]
    # gurobipy (with its size-limited licence) comes with pabutools: leximin is offered.
    leximin = {**CONFIG, "algorithm": "leximin"}
    accepted = await client.put(url(s.table.id), json=leximin, headers=bearer(s.facilitator))
    assert accepted.status_code == 200 and accepted.json()["algorithm"] == "leximin"


async def test_applicants_declare_features_the_profile_fills_age_and_nobody_sees_others(
    client, session
):
    s = await make_scene(session, content=False)
    await client.put(url(s.table.id), json=CONFIG, headers=bearer(s.facilitator))
    alice, bruno = await make_user(session, name="Alice"), await make_user(session, name="Bruno")
    alice.birth_date = date(2004, 3, 1)
    await commit_setup(session)

    missing = await client.post(
        url(s.table.id, "/applications"), json={"features": {}}, headers=bearer(alice)
    )
    body = assert_problem(missing, 422, "validation_error")
    assert {"loc": ["body", "features", "gender"], "msg": "required", "code": "required"} in body[
        "errors"
    ]
    no_age = await client.post(
        url(s.table.id, "/applications"), json={"features": {"gender": "m"}}, headers=bearer(bruno)
    )
    assert assert_problem(no_age, 422)["errors"][0]["code"] == "sortition_no_matching_value"

    applied = await client.post(
        url(s.table.id, "/applications"), json={"features": {"gender": "f"}}, headers=bearer(alice)
    )
    assert applied.status_code == 201, applied.text
    assert applied.json()["features"] == {"gender": "f", "age": "16-24"}
    assert applied.json()["status"] == "applied"
    assert applied.json()["selection_probability"] is None
    twice = await client.post(
        url(s.table.id, "/applications"), json={"features": {"gender": "f"}}, headers=bearer(alice)
    )
    assert_problem(twice, 409, "already_applied")

    # Only Alice sees her application; the facilitator and the public see counts only.
    assert_problem(
        await client.get(url(s.table.id, "/applications/me"), headers=bearer(bruno)), 404
    )
    mine = await client.get(url(s.table.id, "/applications/me"), headers=bearer(alice))
    assert mine.json()["features"]["gender"] == "f"
    for who in (None, s.facilitator):
        headers = bearer(who) if who else {}
        for path in ("", "/composition"):
            text = (await client.get(url(s.table.id, path), headers=headers)).text
            assert str(alice.id) not in text and "Alice" not in text
    composition = (await client.get(url(s.table.id, "/composition"))).json()
    assert composition["applicants_count"] == 1
    assert composition["features"][0]["values"][0] == {
        "value": "f",
        "label": None,
        "min": 2,
        "max": 2,
        "applicants": 1,
        "selected": 0,
    }

    changed = await client.put(
        url(s.table.id, "/applications/me"),
        json={"features": {"gender": "m"}},
        headers=bearer(alice),
    )
    assert changed.json()["features"]["gender"] == "m"
    gone = await client.delete(url(s.table.id, "/applications/me"), headers=bearer(alice))
    assert gone.status_code == 204
    assert await application_of(session, s.table, alice) is None


async def test_applications_close_with_the_window(client, session):
    s = await make_scene(session, content=False)
    await configure_sortition(session, s.table, closed=True)
    await commit_setup(session)
    late = await client.post(
        url(s.table.id, "/applications"),
        json={"features": {"gender": "f", "age": "over-25"}},
        headers=bearer(s.member),
    )
    assert_problem(late, 409, "sortition_window_closed")


async def test_infeasible_quotas_name_the_quota_and_the_shortfall(client, session):
    s = await make_scene(session, content=False)
    await configure_sortition(session, s.table)
    await make_applicants(session, s.table, pool(0, 0, 3, 3))  # no women at all
    await commit_setup(session)
    body = assert_problem(
        await client.post(url(s.table.id, "/check"), headers=bearer(s.facilitator)),
        422,
        "sortition_infeasible",
    )
    error = next(e for e in body["errors"] if e["loc"] == ["quotas", "gender", "f"])
    assert "short by 2" in error["msg"]
    assert {
        "kind": "not_enough_applicants_with_value",
        "feature": "gender",
        "value": "f",
    }.items() <= (body["issues"][0].items())
    # The draw is refused the same way.
    assert_problem(
        await client.post(url(s.table.id, "/draws"), headers=bearer(s.facilitator)),
        422,
        "sortition_infeasible",
    )


async def test_quotas_that_cannot_hold_together_are_found_by_the_solver(client, session):
    s = await make_scene(session, content=False)
    three_young = {**AGE_BAND, "values": [{"value": "under-25", "min": 3}, {"value": "over-25"}]}
    await configure_sortition(session, s.table, features=[GENDER, three_young])
    # Each value has enough applicants, but both women are over 25: two places for men
    # cannot hold three people under 25.
    await make_applicants(session, s.table, pool(0, 2, 3, 3))
    await commit_setup(session)
    body = assert_problem(
        await client.post(url(s.table.id, "/check"), headers=bearer(s.facilitator)),
        422,
        "sortition_infeasible",
    )
    kinds = {i["kind"] for i in body["issues"]}
    assert kinds and kinds <= {"min_unreachable", "max_too_low"}, body
    assert all(i["shortfall"] >= 1 for i in body["issues"])
    assert all(e["code"] == "sortition_infeasible" for e in body["errors"])


async def test_a_draw_seats_a_panel_within_the_quotas_and_shows_each_their_probability(
    client, session
):
    s = await make_scene(session, content=False)
    await configure_sortition(session, s.table)
    people = await make_applicants(session, s.table, pool(2, 2, 2, 2))
    await commit_setup(session)
    feasible = await client.post(url(s.table.id, "/check"), headers=bearer(s.facilitator))
    assert feasible.json() == {"feasible": True, "applicants_count": 8, "number_to_select": 4}

    queued = await client.post(url(s.table.id, "/draws"), headers=bearer(s.facilitator))
    assert queued.status_code == 201, queued.text
    assert queued.json()["status"] == "queued" and queued.json()["seed"] == 20261207
    again = await client.post(url(s.table.id, "/draws"), headers=bearer(s.facilitator))
    assert_problem(again, 409, "draw_in_progress")

    draw = await run_draw(session, queued.json()["id"])
    shown = (await client.get(url(s.table.id, f"/draws/{draw.id}"))).json()
    assert shown["status"] == "done" and shown["selected_count"] == 4
    assert shown["reserve_count"] == 4 and shown["committees_count"] >= 1
    assert keeps_quotas(draw.inputs, draw.panel)

    by_key = await applicants_by_key(session, s.table, people)
    panel_users = {by_key[k].id for k in draw.panel}
    assert await active_members(session, s.table) == panel_users | {s.member.id}
    composition = (await client.get(url(s.table.id, "/composition"))).json()
    assert [v["selected"] for v in composition["features"][0]["values"]] == [2, 2]

    total = 0.0
    for key, user in by_key.items():
        me = (await client.get(url(s.table.id, "/applications/me"), headers=bearer(user))).json()
        assert draw.marginals is not None
        assert me["selection_probability"] == draw.marginals[key]
        assert me["status"] == ("selected" if user.id in panel_users else "reserve")
        total += me["selection_probability"]
    assert abs(total - 4) < 1e-6  # the marginals add up to the panel's size

    actions = [a.action for a in await audit_actions(session, "table", s.table.id)]
    assert actions[-2:] == ["sortition.draw_requested", "sortition.draw_completed"]
    frozen = await client.put(url(s.table.id), json=CONFIG, headers=bearer(s.facilitator))
    assert_problem(frozen, 409, "sortition_already_drawn")


async def test_no_draw_without_a_published_seed_or_while_the_window_is_open(client, session):
    s = await make_scene(session, content=False)
    await configure_sortition(session, s.table, seed=None)
    await make_applicants(session, s.table, pool(2, 2, 2, 2))
    await commit_setup(session)
    assert_problem(
        await client.post(url(s.table.id, "/draws"), headers=bearer(s.facilitator)),
        422,
        "sortition_seed_required",
    )
    config = await session.get(SortitionConfig, s.table.id)
    assert config is not None
    config.seed, config.seed_published_at = 7, config.applications_open_at
    config.applications_close_at = datetime.now(UTC) + timedelta(days=1)
    await commit_setup(session)
    assert_problem(
        await client.post(url(s.table.id, "/draws"), headers=bearer(s.facilitator)),
        409,
        "sortition_window_open",
    )


async def test_a_replacement_keeps_the_quotas(client, session):
    s = await make_scene(session, content=False)
    await configure_sortition(session, s.table)
    people = await make_applicants(session, s.table, pool(2, 3, 2, 3))
    await commit_setup(session)
    queued = await client.post(url(s.table.id, "/draws"), headers=bearer(s.facilitator))
    draw = await run_draw(session, queued.json()["id"])
    features = {p["key"]: p["features"] for p in draw.inputs["people"]}
    by_key = await applicants_by_key(session, s.table, people)
    leaving_key = draw.panel[0]
    leaving = by_key[leaving_key]

    response = await client.post(
        url(s.table.id, "/replacements"),
        json={"user_id": str(leaving.id)},
        headers=bearer(s.facilitator),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    incoming = next(k for k, u in by_key.items() if u.id == uuid.UUID(body["replacement_user_id"]))
    assert features[incoming]["gender"] == features[leaving_key]["gender"]
    draw = await reread(session, draw.id)
    assert leaving_key not in draw.panel and incoming in draw.panel
    assert keeps_quotas(draw.inputs, draw.panel)
    members = await active_members(session, s.table)
    assert leaving.id not in members and by_key[incoming].id in members
    assert len(members - {s.member.id}) == 4
    audit = (await audit_actions(session, "table", s.table.id))[-1]
    assert audit.action == "sortition.replacement"
    assert audit.data["reserve_rank"] == body["reserve_rank"]
    not_on_panel = await client.post(
        url(s.table.id, "/replacements"),
        json={"user_id": str(leaving.id)},
        headers=bearer(s.facilitator),
    )
    assert_problem(not_on_panel, 404, "not_on_panel")


async def test_a_replacement_that_cannot_keep_the_quotas_is_refused(client, session):
    s = await make_scene(session, content=False)
    await configure_sortition(session, s.table)
    # Exactly two women, both selected: none left on the reserve list.
    people = await make_applicants(session, s.table, pool(1, 1, 2, 2))
    await commit_setup(session)
    queued = await client.post(url(s.table.id, "/draws"), headers=bearer(s.facilitator))
    draw = await run_draw(session, queued.json()["id"])
    women = [p["key"] for p in draw.inputs["people"] if p["features"]["gender"] == "f"]
    assert set(women) <= set(draw.panel)
    woman = (await applicants_by_key(session, s.table, people))[women[0]]
    refused = await client.post(
        url(s.table.id, "/replacements"),
        json={"user_id": str(woman.id)},
        headers=bearer(s.facilitator),
    )
    assert_problem(refused, 409, "no_replacement")


async def test_the_panel_respects_the_cap_of_an_existing_member_list(client, session):
    s = await make_scene(session, content=False, max_members=3)
    await add_member(session, s.table, await make_user(session))
    await configure_sortition(session, s.table)
    await make_applicants(session, s.table, pool(2, 2, 2, 2))
    await commit_setup(session)
    queued = await client.post(url(s.table.id, "/draws"), headers=bearer(s.facilitator))
    draw = await run_draw(session, queued.json()["id"])
    assert draw.status == "failed" and draw.error is not None
    assert draw.error["kind"] == "seating_failed"
    assert draw.panel == []
    rows = (await session.exec(select(SortitionDraw.status))).all()
    assert list(rows) == ["failed"]


async def test_the_export_holds_your_applications_and_erasure_deletes_them(client, session):
    s = await make_scene(session, content=False)
    await configure_sortition(session, s.table)
    people = await make_applicants(session, s.table, pool(2, 2, 2, 2))
    await commit_setup(session)
    queued = await client.post(url(s.table.id, "/draws"), headers=bearer(s.facilitator))
    draw = await run_draw(session, queued.json()["id"])
    person = people[0]
    key = next(
        k for k, u in (await applicants_by_key(session, s.table, people)).items() if u == person
    )

    export = (await client.get("/v1/me/export", headers=bearer(person))).json()
    [application] = export["sortition_applications"]
    assert application["features"] == {"gender": "f", "age": "under-25"}
    assert draw.marginals is not None
    assert application["selection_probability"] == draw.marginals[key]

    erased = await client.request(
        "DELETE", "/v1/me", json={"password": PASSWORD}, headers=bearer(person)
    )
    assert erased.status_code == 204, erased.text
    assert await application_of(session, s.table, person) is None
    # The published draw keeps its anonymous row, so it can still be replayed and counted.
    draw = await reread(session, draw.id)
    assert any(p["key"] == key for p in draw.inputs["people"])
    composition = (await client.get(url(s.table.id, "/composition"))).json()
    assert composition["applicants_count"] == 8
