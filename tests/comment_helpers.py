"""Builders for the comments and polls tests: proposals, polls, comments, and a table
with one of everything to comment on."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.comments import Comment, CommentTargetType
from app.models.meetings import Meeting
from app.models.organizations import Organization
from app.models.plans import Plan, PlanNode
from app.models.polls import Poll, PollKind, PollOption, ResultsVisibility
from app.models.proposals import AnswerState, Proposal, ProposalStatus
from app.models.tables import ParticipationTable, TableSettings
from tests.helpers import add_member, make_meeting, make_org, make_plan, make_table, make_user


async def make_proposal(
    session: AsyncSession,
    table: ParticipationTable,
    author: User | None,
    *,
    status: ProposalStatus = "published",
    answer_state: AnswerState | None = None,
    title: str = "Spazi studio aperti la sera",
) -> Proposal:
    now = datetime.now(UTC)
    proposal = Proposal(
        table_id=table.id,
        organization_id=table.organization_id,
        author_id=author.id if author else None,
        title=title,
        body="Aprire le biblioteche di quartiere fino a mezzanotte.",
        status=status,
        published_at=None if status == "draft" else now,
        withdrawn_at=now if status == "withdrawn" else None,
        answer_state=answer_state,
        answer_text="Risposta" if answer_state else None,
        answered_at=now if answer_state else None,
    )
    session.add(proposal)
    await session.flush()
    return proposal


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


async def make_comment(
    session: AsyncSession,
    author: User | None,
    target_type: CommentTargetType,
    target_id: uuid.UUID,
    *,
    organization_id: uuid.UUID,
    table_id: uuid.UUID | None = None,
    parent: Comment | None = None,
    body: str = "Sono d'accordo.",
    created_at: datetime | None = None,
    upvotes: int = 0,
    downvotes: int = 0,
) -> Comment:
    comment_id = uuid.uuid4()
    comment = Comment(
        id=comment_id,
        target_type=target_type,
        target_id=target_id,
        organization_id=organization_id,
        table_id=table_id,
        author_id=author.id if author else None,
        parent_id=parent.id if parent else None,
        root_id=parent.root_id if parent else comment_id,
        depth=parent.depth + 1 if parent else 0,
        body=body,
        upvotes=upvotes,
        downvotes=downvotes,
        created_at=created_at or datetime.now(UTC),
    )
    session.add(comment)
    await session.flush()
    if target_type == "proposal":
        await session.exec(
            update(Proposal)
            .where(col(Proposal.id) == target_id)
            .values(comments_count=col(Proposal.comments_count) + 1)
            .execution_options(synchronize_session=False)
        )
    return comment


async def set_comments_open(session: AsyncSession, table: ParticipationTable, value: bool) -> None:
    row = await session.get(TableSettings, table.id)
    if row is None:
        session.add(TableSettings(table_id=table.id, comments_open=value))
    else:
        row.comments_open = value
    await session.flush()


@dataclass
class Scene:
    """An organization with a plan, and a public open table with a facilitator, a member,
    a meeting, a published proposal and an open poll."""

    org: Organization
    plan: Plan
    node: PlanNode
    table: ParticipationTable
    facilitator: User
    member: User
    author: User
    meeting: Meeting
    proposal: Proposal
    poll: Poll
    options: list[PollOption]

    def target(self, target_type: str) -> uuid.UUID:
        return {
            "proposal": self.proposal.id,
            "meeting": self.meeting.id,
            "plan_node": self.node.id,
            "poll": self.poll.id,
        }[target_type]


async def make_scene(session: AsyncSession, **table_fields: Any) -> Scene:
    org = await make_org(session)
    plan, nodes = await make_plan(session, org)
    table_fields.setdefault("plan_id", plan.id)
    table = await make_table(session, org, **table_fields)
    facilitator = await make_user(session, name="Facilitatrice")
    member = await make_user(session, name="Marco")
    author = await make_user(session, name="Giulia")
    await add_member(session, table, facilitator, role="facilitator")
    await add_member(session, table, member)
    await add_member(session, table, author)
    meeting = await make_meeting(session, table)
    proposal = await make_proposal(session, table, author)
    poll, options = await make_poll(session, table)
    return Scene(
        org=org,
        plan=plan,
        node=nodes["4"],
        table=table,
        facilitator=facilitator,
        member=member,
        author=author,
        meeting=meeting,
        proposal=proposal,
        poll=poll,
        options=options,
    )


TARGET_PATHS = {
    "proposal": "proposals",
    "meeting": "meetings",
    "plan_node": "plan-nodes",
    "poll": "polls",
}


def comments_url(target_type: str, target_id: uuid.UUID) -> str:
    return f"/v1/{TARGET_PATHS[target_type]}/{target_id}/comments"


async def comments_count(session: AsyncSession, proposal_id: uuid.UUID) -> int:
    value = (
        await session.exec(
            select(Proposal.comments_count)
            .where(col(Proposal.id) == proposal_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    return int(value)
