"""Sortition: a table's configuration, applicants, and running a draw on the test's own
session (the worker's steps, with the real child process)."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.sortition import SortitionApplication, SortitionConfig, SortitionDraw
from app.models.tables import ParticipationTable
from app.services.sortition import runner
from tests.factories.accounts import make_user

# Two declared features: 4 of 8 people, half women, at least two under 25.
GENDER = {
    "name": "gender",
    "source": "declared",
    "values": [{"value": "f", "min": 2, "max": 2}, {"value": "m", "min": 2, "max": 2}],
}
AGE_BAND = {
    "name": "age",
    "source": "declared",
    "values": [{"value": "under-25", "min": 2, "max": 4}, {"value": "over-25", "min": 0}],
}


async def configure_sortition(
    session: AsyncSession,
    table: ParticipationTable,
    *,
    features: list[dict[str, Any]] | None = None,
    number_to_select: int = 4,
    seed: int | None = 20261207,
    algorithm: str = "maximin",
    closed: bool = True,
    check_same_address: bool = False,
) -> SortitionConfig:
    """A sortition table; `closed`: the application window has closed (ready to draw)."""
    now = datetime.now(UTC)
    table.membership_policy = "sortition"
    config = SortitionConfig(
        table_id=table.id,
        features=features or [GENDER, AGE_BAND],
        number_to_select=number_to_select,
        applications_open_at=now - timedelta(days=10),
        applications_close_at=now - timedelta(hours=1) if closed else now + timedelta(days=1),
        algorithm=algorithm,
        seed=seed,
        seed_published_at=now - timedelta(days=10) if seed is not None else None,
        check_same_address=check_same_address,
    )
    session.add(config)
    await session.flush()
    return config


async def make_applicants(
    session: AsyncSession,
    table: ParticipationTable,
    features: list[dict[str, str]],
    *,
    households: list[str | None] | None = None,
) -> list[User]:
    """One applicant per entry of `features` (their declared values)."""
    people = []
    for i, values in enumerate(features):
        user = await make_user(session, name=f"Candidato {i + 1}")
        user.birth_date = date(2000, 1, 1)
        household = households[i] if households else None
        session.add(
            SortitionApplication(
                table_id=table.id, user_id=user.id, features=values, household_hash=household
            )
        )
        people.append(user)
    await session.flush()
    return people


def pool(women_young: int, women_old: int, men_young: int, men_old: int) -> list[dict[str, str]]:
    spec = [
        ({"gender": "f", "age": "under-25"}, women_young),
        ({"gender": "f", "age": "over-25"}, women_old),
        ({"gender": "m", "age": "under-25"}, men_young),
        ({"gender": "m", "age": "over-25"}, men_old),
    ]
    return [dict(values) for values, n in spec for _ in range(n)]


async def _ignore(progress: dict[str, Any]) -> None:
    return None


async def run_draw(session: AsyncSession, draw_id: uuid.UUID | str) -> SortitionDraw:
    """What the worker does with a queued draw, on the test's session."""
    claimed = await runner.claim(session, "test-worker")
    await session.flush()  # the worker commits its claim before computing
    assert claimed is not None and claimed[0] == uuid.UUID(str(draw_id))
    outcome = await runner.compute_in_child(claimed[1], _ignore)
    await runner.finish(session, claimed[0], outcome)
    await session.flush()
    draw = await session.get(SortitionDraw, claimed[0])
    assert draw is not None
    await session.refresh(draw)
    return draw


async def application_of(
    session: AsyncSession, table: ParticipationTable, user: User
) -> SortitionApplication | None:
    return (
        await session.exec(
            select(SortitionApplication).where(
                col(SortitionApplication.table_id) == table.id,
                col(SortitionApplication.user_id) == user.id,
            )
        )
    ).one_or_none()


async def applicants_by_key(
    session: AsyncSession, table: ParticipationTable, people: list[User]
) -> dict[str, User]:
    """Application id (the draw's key) → applicant."""
    keys = {}
    for user in people:
        application = await application_of(session, table, user)
        assert application is not None
        keys[str(application.id)] = user
    return keys
