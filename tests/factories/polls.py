"""Polls of a table, with their options."""

from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.polls import Poll, PollKind, PollOption, ResultsVisibility
from app.models.tables import ParticipationTable


async def make_poll(
    session: AsyncSession,
    table: ParticipationTable,
    *,
    options: int = 3,
    kind: PollKind = "single",
    max_choices: int = 1,
    opens_in: timedelta = timedelta(hours=-1),
    closes_in: timedelta = timedelta(days=7),
    results_visibility: ResultsVisibility = "after_close",
) -> tuple[Poll, list[PollOption]]:
    """A poll open since an hour ago, for a week, with `options` options."""
    now = datetime.now(UTC)
    poll = Poll(
        table_id=table.id,
        organization_id=table.organization_id,
        question={"it": "Quale spazio preferite?"},
        kind=kind,
        max_choices=max_choices,
        opens_at=now + opens_in,
        closes_at=now + closes_in,
        results_visibility=results_visibility,
    )
    session.add(poll)
    await session.flush()
    rows = [
        PollOption(poll_id=poll.id, position=i, label={"it": f"Opzione {i + 1}"})
        for i in range(options)
    ]
    session.add_all(rows)
    await session.flush()
    return poll, rows
