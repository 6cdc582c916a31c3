"""A person's conversations data: export (their statements and their votes) and erasure
(pending statements deleted — never published, and nobody is left to stand by them —,
the others kept authorless; votes kept, like supports and poll participations: they now
belong to the anonymous account, and every count stays exact)."""

from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.conversations import (
    VOTE_NAMES,
    ConversationStatement,
    ConversationVote,
    ExportConversationVote,
    ExportStatement,
)
from app.models.moderation import Moderation


async def export_conversations(
    session: AsyncSession, user: User
) -> tuple[list[ExportStatement], list[ExportConversationVote]]:
    statements = (
        await session.exec(
            select(ConversationStatement)
            .where(col(ConversationStatement.author_id) == user.id)
            .order_by(col(ConversationStatement.created_at), col(ConversationStatement.id))
        )
    ).all()
    votes = (
        await session.exec(
            select(ConversationVote)
            .where(col(ConversationVote.user_id) == user.id)
            .order_by(col(ConversationVote.created_at), col(ConversationVote.statement_id))
        )
    ).all()
    return (
        [
            ExportStatement(
                id=s.id,
                conversation_id=s.conversation_id,
                body=s.body,
                status=s.status,
                created_at=s.created_at,
            )
            for s in statements
        ],
        [
            ExportConversationVote(
                statement_id=v.statement_id,
                conversation_id=v.conversation_id,
                vote=VOTE_NAMES[v.vote],
                updated_at=v.updated_at,
            )
            for v in votes
        ],
    )


async def erase_conversations(session: AsyncSession, user: User) -> dict[str, Any]:
    pending = list(
        (
            await session.exec(
                delete(ConversationStatement)
                .where(
                    col(ConversationStatement.author_id) == user.id,
                    col(ConversationStatement.status) == "pending",
                )
                .returning(col(ConversationStatement.id))
            )
        ).scalars()
    )
    if pending:
        await session.exec(
            update(Moderation)
            .where(
                col(Moderation.target_type) == "statement", col(Moderation.target_id).in_(pending)
            )
            .values(open=False, pending=False)
        )
    kept = (
        await session.exec(
            update(ConversationStatement)
            .where(col(ConversationStatement.author_id) == user.id)
            .values(author_id=None)
        )
    ).rowcount
    return {"pending_statements_deleted": len(pending), "statements_kept_authorless": kept}
