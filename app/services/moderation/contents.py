"""What a moderation item shows of its target: the content moderators need (titles,
texts, display names), never emails or birth dates. One query per kind of target on a
page, whatever its size; one loader per kind (`LOADERS`).
"""

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import and_, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.comments import Comment
from app.models.conversations import ConversationStatement
from app.models.live import LiveQuestion
from app.models.meetings import Meeting
from app.models.moderation import ModeratedContent, Moderation
from app.models.plans import PlanNode
from app.models.polls import Poll
from app.models.proposals import PersonRef, Proposal

# How much of a proposal's text an item shows.
EXCERPT_CHARS = 500

Contents = dict[tuple[str, uuid.UUID], tuple[ModeratedContent, str | None]]


def person_ref(user_id: uuid.UUID | None, name: str | None) -> PersonRef | None:
    """A person by id and display name; null once the account is deleted."""
    if user_id is None or name is None:
        return None
    return PersonRef(id=user_id, display_name=name)


def named_user(user_column: Any) -> Any:
    """Join condition: the user of `user_column`, unless the account is deleted."""
    return and_(col(User.id) == user_column, col(User.deleted_at).is_(None))


async def _proposals(session: AsyncSession, ids: list[uuid.UUID]) -> Contents:
    proposals: Any = (
        sa_select(
            col(Proposal.id),
            col(Proposal.title),
            func.left(col(Proposal.body), EXCERPT_CHARS),
            col(Proposal.author_id),
            col(Proposal.moderation_status),
            col(User.display_name),
        )
        .outerjoin(User, named_user(Proposal.author_id))
        .where(col(Proposal.id).in_(ids))
    )
    found: Contents = {}
    for pid, title, excerpt, author_id, status, name in (await session.exec(proposals)).all():
        content = ModeratedContent(title=title, body=excerpt, author=person_ref(author_id, name))
        found["proposal", pid] = (content, status)
    return found


async def _comments(session: AsyncSession, ids: list[uuid.UUID]) -> Contents:
    found: Contents = {}
    for comment, name in (
        await session.exec(
            select(Comment, User.display_name)
            .outerjoin(User, named_user(Comment.author_id))
            .where(col(Comment.id).in_(ids))
        )
    ).all():
        content = ModeratedContent(
            body=comment.body,
            author=person_ref(comment.author_id, name),
            on_target_type=comment.target_type,
            on_target_id=comment.target_id,
            deleted=comment.deleted_at is not None,
        )
        found["comment", comment.id] = (content, comment.status)
    return found


async def _questions(session: AsyncSession, ids: list[uuid.UUID]) -> Contents:
    found: Contents = {}
    for asked, name in (
        await session.exec(
            select(LiveQuestion, User.display_name)
            .outerjoin(User, named_user(LiveQuestion.author_id))
            .where(col(LiveQuestion.id).in_(ids))
        )
    ).all():
        content = ModeratedContent(
            body=asked.body,
            author=person_ref(asked.author_id, name),
            on_target_type="meeting",
            on_target_id=asked.meeting_id,
        )
        found["question", asked.id] = (content, asked.status)
    return found


async def _statements(session: AsyncSession, ids: list[uuid.UUID]) -> Contents:
    found: Contents = {}
    for statement, name in (
        await session.exec(
            select(ConversationStatement, User.display_name)
            .outerjoin(User, named_user(ConversationStatement.author_id))
            .where(col(ConversationStatement.id).in_(ids))
        )
    ).all():
        content = ModeratedContent(
            body=statement.body,
            author=person_ref(statement.author_id, name),
            on_target_type="conversation",
            on_target_id=statement.conversation_id,
        )
        found["statement", statement.id] = (content, statement.status)
    return found


async def _meetings(session: AsyncSession, ids: list[uuid.UUID]) -> Contents:
    found: Contents = {}
    for meeting, name in (
        await session.exec(
            select(Meeting, User.display_name)
            .outerjoin(User, named_user(Meeting.created_by_id))
            .where(col(Meeting.id).in_(ids))
        )
    ).all():
        content = ModeratedContent(
            title=meeting.title, author=person_ref(meeting.created_by_id, name)
        )
        found["meeting", meeting.id] = (content, meeting.moderation_status)
    return found


async def _polls(session: AsyncSession, ids: list[uuid.UUID]) -> Contents:
    found: Contents = {}
    for poll_id, question, creator_id, name in (
        await session.exec(
            select(Poll.id, Poll.question, Poll.created_by_id, User.display_name)
            .outerjoin(User, named_user(Poll.created_by_id))
            .where(col(Poll.id).in_(ids))
        )
    ).all():
        found["poll", poll_id] = (
            ModeratedContent(title=question, author=person_ref(creator_id, name)),
            None,
        )
    return found


async def _plan_nodes(session: AsyncSession, ids: list[uuid.UUID]) -> Contents:
    found: Contents = {}
    for node_id, node_title in (
        await session.exec(select(PlanNode.id, PlanNode.title).where(col(PlanNode.id).in_(ids)))
    ).all():
        found["plan_node", node_id] = (ModeratedContent(title=node_title), None)
    return found


async def _users(session: AsyncSession, ids: list[uuid.UUID]) -> Contents:
    found: Contents = {}
    for user_id, display_name, deleted_at in (
        await session.exec(
            select(User.id, User.display_name, User.deleted_at).where(col(User.id).in_(ids))
        )
    ).all():
        deleted = deleted_at is not None
        content = ModeratedContent(display_name=None if deleted else display_name, deleted=deleted)
        found["user", user_id] = (content, None)
    return found


# One loader per kind of target, in the order their queries run.
LOADERS: dict[str, Callable[[AsyncSession, list[uuid.UUID]], Awaitable[Contents]]] = {
    "proposal": _proposals,
    "comment": _comments,
    "question": _questions,
    "statement": _statements,
    "meeting": _meetings,
    "poll": _polls,
    "plan_node": _plan_nodes,
    "user": _users,
}


async def moderated_contents(session: AsyncSession, rows: Sequence[Moderation]) -> Contents:
    """(content, moderation status) per target: one query per kind of target."""
    ids: dict[str, list[uuid.UUID]] = defaultdict(list)
    for row in rows:
        ids[row.target_type].append(row.target_id)
    found: Contents = {}
    for kind, load in LOADERS.items():
        if ids.get(kind):
            found.update(await load(session, ids[kind]))
    return found
