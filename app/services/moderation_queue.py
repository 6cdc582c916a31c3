"""The moderation queues: what awaits a table's facilitators and an organization's admins.

* `GET /v1/tables/{id}/moderation` — the open items of one table, for those who run it
  (its active facilitators, the organization's admins, platform admins: the table is
  looked up through `get_facilitated_table`, anyone else gets a 404).
* `GET /v1/organizations/{org}/moderation` — every open item of the organization (its
  tables' content, comments on plan nodes, people), for its admins and platform admins.

An item is open while it is reported and unreviewed, or held for pre-moderation. Its
state is one of `pending` (awaiting approval), `hidden` (hidden by reports, awaiting
review) or `reported` (still visible); `closed` once reviewed. Lists are keyset-paginated
oldest first by (`updated_at`, `id`) — `updated_at` of an open item is when it entered
the queue (see `app/services/reports.py`) — on the partial indexes of open items.

A page costs a fixed number of queries whatever its size: the page, one per kind of
target on it (at most six), the reports of the whole page, the history of the whole page
(audit entries, newest first, capped per item) and the reviewers' names. Items show the
content moderators need (titles, texts, display names), never emails or birth dates.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, tuple_
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.comments import Comment
from app.models.live import LiveQuestion
from app.models.meetings import Meeting
from app.models.moderation import (
    ITEM_HISTORY,
    ITEM_REPORTS,
    AuditEntry,
    ItemHistoryEntry,
    ItemReport,
    ItemState,
    ModeratedContent,
    Moderation,
    ModerationItem,
    ModerationTargetType,
    QueueState,
    QueueView,
    Report,
)
from app.models.plans import PlanNode
from app.models.polls import Poll
from app.models.proposals import PersonRef, Proposal
from app.pagination import PageParams, SortKey, paginate
from app.services.organizations import get_admin_organization
from app.services.tables import get_facilitated_table

# How much of a proposal's text an item shows.
EXCERPT_CHARS = 500


# --- the lists --------------------------------------------------------------------------


def _state_clause(state: QueueState) -> ColumnElement[bool]:
    if state == "pending":
        return col(Moderation.pending).is_(True)
    hidden = col(Moderation.hidden_at).is_not(None)
    if state == "hidden":
        return and_(not_(col(Moderation.pending)), hidden)
    return and_(not_(col(Moderation.pending)), not_(hidden))


def _view_clause(view: QueueView) -> ColumnElement[bool]:
    """`queue`: the open items; `hidden`: everything hidden now, reviewed or not (to find
    what to unhide); `locked`: every locked thread."""
    if view == "hidden":
        return col(Moderation.hidden_at).is_not(None)
    if view == "locked":
        return col(Moderation.locked_at).is_not(None)
    return col(Moderation.open).is_(True)


async def _queue(
    session: AsyncSession,
    scope: ColumnElement[bool],
    state: QueueState | None,
    target_type: ModerationTargetType | None,
    params: PageParams,
    view: QueueView = "queue",
) -> tuple[list[ModerationItem], str | None]:
    stmt = select(Moderation).where(scope, _view_clause(view))
    if state is not None:
        stmt = stmt.where(_state_clause(state))
    if target_type is not None:
        stmt = stmt.where(col(Moderation.target_type) == target_type)
    keys = [
        SortKey(col(Moderation.updated_at), kind=datetime),
        SortKey(col(Moderation.id), kind=uuid.UUID),
    ]
    rows, cursor = await paginate(
        session, stmt, keys, params, key_of=lambda m: (m.updated_at, m.id)
    )
    return await moderation_items(session, rows), cursor


async def table_queue(
    session: AsyncSession,
    actor: User,
    table_id: uuid.UUID,
    state: QueueState | None,
    target_type: ModerationTargetType | None,
    params: PageParams,
    view: QueueView = "queue",
) -> tuple[list[ModerationItem], str | None]:
    """The items of a table the actor runs (404 otherwise)."""
    table = await get_facilitated_table(session, actor, table_id)
    return await _queue(
        session, col(Moderation.table_id) == table.id, state, target_type, params, view
    )


async def organization_queue(
    session: AsyncSession,
    actor: User,
    org_slug: str,
    state: QueueState | None,
    target_type: ModerationTargetType | None,
    params: PageParams,
    view: QueueView = "queue",
) -> tuple[list[ModerationItem], str | None]:
    """The items of an organization the actor administers (404 otherwise)."""
    org = await get_admin_organization(session, actor, org_slug)
    return await _queue(
        session, col(Moderation.organization_id) == org.id, state, target_type, params, view
    )


# --- items ------------------------------------------------------------------------------


def item_state(row: Moderation) -> ItemState:
    if not row.open:
        return "closed"
    if row.pending:
        return "pending"
    if row.hidden_at is not None:
        return "hidden"
    return "reported"


def _person(user_id: uuid.UUID | None, name: str | None) -> PersonRef | None:
    """A person by id and display name; null once the account is deleted."""
    if user_id is None or name is None:
        return None
    return PersonRef(id=user_id, display_name=name)


def _named(user_column: Any) -> Any:
    """Join condition: the user of `user_column`, unless the account is deleted."""
    return and_(col(User.id) == user_column, col(User.deleted_at).is_(None))


Contents = dict[tuple[str, uuid.UUID], tuple[ModeratedContent, str | None]]


async def _contents(session: AsyncSession, rows: Sequence[Moderation]) -> Contents:
    """(content, moderation status) per target: one query per kind of target."""
    ids: dict[str, list[uuid.UUID]] = defaultdict(list)
    for row in rows:
        ids[row.target_type].append(row.target_id)
    found: Contents = {}
    if ids.get("proposal"):
        proposals: Any = (
            sa_select(
                col(Proposal.id),
                col(Proposal.title),
                func.left(col(Proposal.body), EXCERPT_CHARS),
                col(Proposal.author_id),
                col(Proposal.moderation_status),
                col(User.display_name),
            )
            .outerjoin(User, _named(Proposal.author_id))
            .where(col(Proposal.id).in_(ids["proposal"]))
        )
        for pid, title, excerpt, author_id, status, name in (await session.exec(proposals)).all():
            content = ModeratedContent(title=title, body=excerpt, author=_person(author_id, name))
            found["proposal", pid] = (content, status)
    if ids.get("comment"):
        for comment, name in (
            await session.exec(
                select(Comment, User.display_name)
                .outerjoin(User, _named(Comment.author_id))
                .where(col(Comment.id).in_(ids["comment"]))
            )
        ).all():
            content = ModeratedContent(
                body=comment.body,
                author=_person(comment.author_id, name),
                on_target_type=comment.target_type,
                on_target_id=comment.target_id,
                deleted=comment.deleted_at is not None,
            )
            found["comment", comment.id] = (content, comment.status)
    if ids.get("question"):
        for asked, name in (
            await session.exec(
                select(LiveQuestion, User.display_name)
                .outerjoin(User, _named(LiveQuestion.author_id))
                .where(col(LiveQuestion.id).in_(ids["question"]))
            )
        ).all():
            content = ModeratedContent(
                body=asked.body,
                author=_person(asked.author_id, name),
                on_target_type="meeting",
                on_target_id=asked.meeting_id,
            )
            found["question", asked.id] = (content, asked.status)
    if ids.get("meeting"):
        for meeting, name in (
            await session.exec(
                select(Meeting, User.display_name)
                .outerjoin(User, _named(Meeting.created_by_id))
                .where(col(Meeting.id).in_(ids["meeting"]))
            )
        ).all():
            content = ModeratedContent(
                title=meeting.title, author=_person(meeting.created_by_id, name)
            )
            found["meeting", meeting.id] = (content, meeting.moderation_status)
    if ids.get("poll"):
        for poll_id, question, creator_id, name in (
            await session.exec(
                select(Poll.id, Poll.question, Poll.created_by_id, User.display_name)
                .outerjoin(User, _named(Poll.created_by_id))
                .where(col(Poll.id).in_(ids["poll"]))
            )
        ).all():
            found["poll", poll_id] = (
                ModeratedContent(title=question, author=_person(creator_id, name)),
                None,
            )
    if ids.get("plan_node"):
        for node_id, node_title in (
            await session.exec(
                select(PlanNode.id, PlanNode.title).where(col(PlanNode.id).in_(ids["plan_node"]))
            )
        ).all():
            found["plan_node", node_id] = (ModeratedContent(title=node_title), None)
    if ids.get("user"):
        for user_id, display_name, deleted_at in (
            await session.exec(
                select(User.id, User.display_name, User.deleted_at).where(
                    col(User.id).in_(ids["user"])
                )
            )
        ).all():
            deleted = deleted_at is not None
            content = ModeratedContent(
                display_name=None if deleted else display_name, deleted=deleted
            )
            found["user", user_id] = (content, None)
    return found


async def _reports(
    session: AsyncSession, moderation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ItemReport]]:
    """The latest reports of each item (newest first, capped), in one query."""
    rank = (
        func.row_number()
        .over(
            partition_by=col(Report.moderation_id),
            order_by=(col(Report.created_at).desc(), col(Report.id).desc()),
        )
        .label("rank")
    )
    ranked = select(Report, rank).where(col(Report.moderation_id).in_(moderation_ids)).subquery()
    stmt: Any = (
        sa_select(*ranked.c, col(User.display_name))
        .outerjoin(User, _named(ranked.c.reporter_id))
        .where(ranked.c.rank <= ITEM_REPORTS)
        .order_by(ranked.c.moderation_id, ranked.c.created_at.desc(), ranked.c.id.desc())
    )
    found: dict[uuid.UUID, list[ItemReport]] = defaultdict(list)
    for r in (await session.exec(stmt)).mappings().all():
        found[r["moderation_id"]].append(
            ItemReport(
                id=r["id"],
                reason=r["reason"],
                details=r["details"],
                reporter=_person(r["reporter_id"], r["display_name"]),
                created_at=r["created_at"],
                dismissed_at=r["dismissed_at"],
            )
        )
    return found


HistoryKey = tuple[uuid.UUID | None, str, uuid.UUID]


async def _history(
    session: AsyncSession, rows: Sequence[Moderation]
) -> dict[HistoryKey, list[ItemHistoryEntry]]:
    """The latest audit entries about each item's target, in its organization (newest
    first, capped), in one query."""
    target = (
        col(AuditEntry.organization_id),
        col(AuditEntry.target_type),
        col(AuditEntry.target_id),
    )
    rank = (
        func.row_number()
        .over(partition_by=target, order_by=col(AuditEntry.seq).desc())
        .label("rank")
    )
    keys = list({(r.organization_id, r.target_type, r.target_id) for r in rows})
    ranked = select(AuditEntry, rank).where(tuple_(*target).in_(keys)).subquery()
    stmt: Any = (
        sa_select(*ranked.c, col(User.display_name))
        .outerjoin(User, _named(ranked.c.actor_id))
        .where(ranked.c.rank <= ITEM_HISTORY)
        .order_by(ranked.c.seq.desc())
    )
    found: dict[HistoryKey, list[ItemHistoryEntry]] = defaultdict(list)
    for e in (await session.exec(stmt)).mappings().all():
        found[e["organization_id"], e["target_type"], e["target_id"]].append(
            ItemHistoryEntry(
                id=e["id"],
                action=e["action"],
                actor=_person(e["actor_id"], e["display_name"]),
                reason=e["reason"],
                data=e["data"],
                created_at=e["created_at"],
            )
        )
    return found


async def _names(session: AsyncSession, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not user_ids:
        return {}
    rows = await session.exec(
        select(User.id, User.display_name).where(
            col(User.id).in_(user_ids), col(User.deleted_at).is_(None)
        )
    )
    return dict(rows.all())


async def moderation_items(
    session: AsyncSession, rows: Sequence[Moderation]
) -> list[ModerationItem]:
    """Queue items for moderation rows, in a fixed number of queries."""
    if not rows:
        return []
    contents = await _contents(session, rows)
    reports = await _reports(session, [r.id for r in rows])
    history = await _history(session, rows)
    names = await _names(session, {r.reviewed_by_id for r in rows if r.reviewed_by_id})
    items = []
    for row in rows:
        content, status = contents.get((row.target_type, row.target_id), (None, None))
        reviewer = row.reviewed_by_id
        items.append(
            ModerationItem(
                id=row.id,
                organization_id=row.organization_id,
                table_id=row.table_id,
                target_type=row.target_type,
                target_id=row.target_id,
                state=item_state(row),
                open=row.open,
                status=status,
                content=content,
                report_count=row.report_count,
                hidden_by=row.hidden_by,
                hidden_at=row.hidden_at,
                locked=row.locked_at is not None,
                locked_at=row.locked_at,
                reviewed_at=row.reviewed_at,
                reviewed_by=_person(reviewer, names.get(reviewer) if reviewer else None),
                reports=reports.get(row.id, []),
                history=history.get((row.organization_id, row.target_type, row.target_id), []),
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
        )
    return items
