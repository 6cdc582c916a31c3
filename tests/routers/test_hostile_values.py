"""Hostile values in bodies and filters are 422, never 500, and change nothing: extreme
date-times (valid ISO 8601, but no instant once in UTC), Unix times and offset-less
filters, switches and decimals where integers belong, duplicate poll options."""

import typing
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ValidationError
from sqlmodel import col, func, select

from app.main import create_app
from app.models.comments import CommentVote
from app.models.meetings import Meeting
from app.models.moderation import Suspension
from app.models.organizations import OrganizationRole
from app.models.polls import Poll
from tests.factories import commit_setup, make_comment, make_scene, make_user
from tests.helpers import assert_problem, bearer

EXTREMES = ["9999-12-31T23:00:00-23:59", "0001-01-01T00:00:00+14:00"]


async def _count(session: Any, model: Any, *where: Any) -> int:
    stmt = select(func.count()).select_from(model).where(*where)
    return int((await session.exec(stmt)).one())


def _meeting(**fields: Any) -> dict[str, Any]:
    return {
        "title": {"it": "Plenaria"},
        "kind": "plenary",
        "format": "in_person",
        "starts_at": "2030-04-28T16:00:00+02:00",
        "ends_at": "2030-04-28T18:00:00+02:00",
        **fields,
    }


@pytest.mark.parametrize("extreme", EXTREMES)
async def test_extreme_date_times_on_writes_are_422(client, session, extreme):
    scene = await make_scene(session)
    admin = await make_user(session, name="Admin")
    session.add(OrganizationRole(organization_id=scene.org.id, user_id=admin.id, role="admin"))
    await commit_setup(session)
    facilitator = bearer(scene.facilitator)
    meetings = await _count(session, Meeting)
    for field in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
        response = await client.post(
            f"/v1/tables/{scene.table.id}/meetings",
            json=_meeting(**{field: extreme}),
            headers=facilitator,
        )
        problem = assert_problem(response, 422, "validation_error")
        assert ["body", field] in [e["loc"] for e in problem["errors"]]
    assert await _count(session, Meeting) == meetings

    response = await client.patch(
        f"/v1/meetings/{scene.meeting.id}", json={"starts_at": extreme}, headers=facilitator
    )
    assert_problem(response, 422, "validation_error")
    stored = await session.get(Meeting, scene.meeting.id)
    assert stored is not None and stored.starts_at.year < 9999

    polls = await _count(session, Poll)
    response = await client.post(
        f"/v1/tables/{scene.table.id}/polls",
        json={"question": {"it": "Dove?"}, "options": [{"it": "Bari"}, {"it": "Bitonto"}]}
        | {"closes_at": extreme},
        headers=facilitator,
    )
    assert_problem(response, 422, "validation_error")
    assert await _count(session, Poll) == polls

    response = await client.post(
        f"/v1/organizations/{scene.org.slug}/suspensions/{scene.member.id}",
        json={"reason": "Messaggi offensivi ripetuti", "ends_at": extreme},
        headers=bearer(admin),
    )
    assert_problem(response, 422, "validation_error")
    assert await _count(session, Suspension) == 0


@pytest.mark.parametrize(
    "value",
    [*EXTREMES, "1700000000", "1700000000.5", "2030-03-03T00:00:00", "2030-03-03"],
)
async def test_date_time_filters_refuse_extremes_unix_times_and_missing_offsets(
    client, session, value
):
    scene = await make_scene(session)
    admin = await make_user(session, name="Admin")
    session.add(OrganizationRole(organization_id=scene.org.id, user_id=admin.id, role="admin"))
    await commit_setup(session)
    meetings = f"/v1/tables/{scene.table.id}/meetings"
    for name in ("from", "to"):
        problem = assert_problem(await client.get(meetings, params={name: value}), 422)
        assert problem["errors"][0]["loc"] == ["query", name]
    audit = f"/v1/organizations/{scene.org.slug}/audit-log"
    for name in ("since", "until"):
        response = await client.get(audit, params={name: value}, headers=bearer(admin))
        problem = assert_problem(response, 422)
        assert problem["errors"][0]["loc"] == ["query", name]
    # With an offset, the same filters answer.
    ok = await client.get(meetings, params={"from": "2030-03-03T00:00:00+01:00"})
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("value", [True, False, 1.0, -1.0, "1", None, 2])
async def test_a_comment_vote_is_the_integer_1_or_minus_1(client, session, value):
    scene = await make_scene(session)
    comment = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    await commit_setup(session)
    response = await client.put(
        f"/v1/comments/{comment.id}/vote", json={"value": value}, headers=bearer(scene.member)
    )
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", "value"]
    assert await _count(session, CommentVote, col(CommentVote.comment_id) == comment.id) == 0
    accepted = await client.put(
        f"/v1/comments/{comment.id}/vote", json={"value": 1}, headers=bearer(scene.member)
    )
    assert accepted.status_code == 200, accepted.text


@pytest.mark.parametrize(
    "options",
    [
        [{"it": "Bari"}, {"it": "Bari"}],
        [{"it": "Bari"}, {"it": "  bari "}, {"it": "Bitonto"}],
        [{"it": "Bari", "en": "Same"}, {"it": "Bitonto", "en": "same"}],
    ],
)
async def test_duplicate_poll_options_are_refused(client, session, options):
    scene = await make_scene(session)
    await commit_setup(session)
    polls = await _count(session, Poll)
    response = await client.post(
        f"/v1/tables/{scene.table.id}/polls",
        json={
            "question": {"it": "Dove?"},
            "options": options,
            "closes_at": "2030-01-01T00:00:00+00:00",
        },
        headers=bearer(scene.facilitator),
    )
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["body", "options"]
    assert await _count(session, Poll) == polls


# --- the same class everywhere: no request body reads a switch or a decimal as an integer


def _models(annotation: Any, seen: set[type[BaseModel]]) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in seen:
            seen.add(annotation)
            for field in annotation.model_fields.values():
                _models(field.annotation, seen)
        return
    for argument in typing.get_args(annotation):
        _models(argument, seen)


def _request_models() -> set[type[BaseModel]]:
    seen: set[type[BaseModel]] = set()
    for context in iter_route_contexts(create_app().routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.body_field is not None:
            _models(route.body_field.field_info.annotation, seen)
    return seen


def _is_integer(annotation: Any) -> bool:
    if annotation is int:
        return True
    if typing.get_origin(annotation) is typing.Literal:
        return all(
            isinstance(a, int) and not isinstance(a, bool) for a in typing.get_args(annotation)
        )
    return any(_is_integer(a) for a in typing.get_args(annotation) if a is not type(None))


def _is_number(annotation: Any) -> bool:
    if annotation is float:
        return True
    return any(_is_number(a) for a in typing.get_args(annotation) if a is not type(None))


def _integer_fields() -> list[tuple[type[BaseModel], str, bool]]:
    found: list[tuple[type[BaseModel], str, bool]] = []
    for model in sorted(_request_models(), key=lambda m: m.__name__):
        for name, field in model.model_fields.items():
            if _is_integer(field.annotation):
                found.append((model, name, True))
            elif _is_number(field.annotation):
                found.append((model, name, False))
    return found


def test_the_request_bodies_have_integer_fields():
    names = {f"{model.__name__}.{name}" for model, name, _ in _integer_fields()}
    assert {"CommentVotePut.value", "MeetingCreate.capacity", "PollCreate.max_choices"} <= names


@pytest.mark.parametrize(
    ("model", "name", "integer"),
    _integer_fields(),
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
def test_no_request_body_reads_a_switch_or_a_string_as_a_number(model, name, integer):
    hostile: list[Any] = [True, False, "1"] + ([1.0, 2.5] if integer else [])
    for value in hostile:
        errors = []
        try:
            model.model_validate({name: value})
        except ValidationError as exc:
            errors = [e["loc"] for e in exc.errors()]
        assert (name,) in [tuple(loc[:1]) for loc in errors], (model.__name__, name, value)
