"""Likely duplicates of a proposal or of a draft (full text + trigram), for authors
before they publish and for facilitators merging proposals."""

import uuid

from sqlalchemy import (
    Float,
    Text,
    cast,
    func,
    literal,
    or_,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.proposals import (
    SEARCH_VECTOR,
    Proposal,
    SimilarProposal,
)
from app.models.tables import ParticipationTable
from app.services.access.content import proposal_context, proposal_visibility
from app.services.access.standing import TableContext, table_context
from app.services.proposals.proposal_search import ITALIAN

SIMILAR_LIMIT = 10
SIMILAR_MIN_SCORE = 0.25
TITLE_TRIGRAM_MIN = 0.3


async def find_similar(
    session: AsyncSession,
    actor: User | None,
    ctx: TableContext,
    *,
    title: str,
    body: str,
    exclude_id: uuid.UUID | None = None,
    counts_visible: bool,
    limit: int = SIMILAR_LIMIT,
) -> list[SimilarProposal]:
    """Published proposals of `ctx.table` that `actor` may see, likely to duplicate a
    text (best first)."""
    text = literal(f"{title}\n{body}", Text)
    source_lexemes = func.tsvector_to_array(func.to_tsvector(ITALIAN, text))
    # plainto_tsquery quotes every lexeme ('a' & 'b'); turning & into | gives "any word".
    any_word = cast(
        func.replace(cast(func.plainto_tsquery(ITALIAN, text), Text), " & ", " | "), TSQUERY
    )
    title_similarity = func.consulta_trigram_similarity(
        Proposal.title, literal(title, Text), type_=Float
    )
    word_overlap = func.consulta_array_jaccard(
        func.tsvector_to_array(SEARCH_VECTOR), source_lexemes, type_=Float
    )
    score = 0.6 * title_similarity + 0.4 * word_overlap
    stmt = (
        select(Proposal, score.label("score"))
        .join(ParticipationTable, col(ParticipationTable.id) == Proposal.table_id)
        .where(*proposal_visibility(actor))
    )
    stmt = stmt.where(
        col(Proposal.table_id) == ctx.table.id,
        col(Proposal.status) == "published",
        or_(SEARCH_VECTOR.op("@@")(any_word), title_similarity >= TITLE_TRIGRAM_MIN),
        score >= SIMILAR_MIN_SCORE,
    )
    if exclude_id is not None:
        stmt = stmt.where(col(Proposal.id) != exclude_id)
    rows = (await session.exec(stmt.order_by(score.desc(), col(Proposal.id)).limit(limit))).all()
    return [
        SimilarProposal(
            id=p.id,
            title=p.title,
            status=p.status,
            moderation_status=p.moderation_status,
            answer_state=p.answer_state,
            supports_count=p.supports_count if counts_visible else None,
            comments_count=p.comments_count,
            published_at=p.published_at,
            similarity=round(float(value), 4),
        )
        for p, value in rows
    ]


async def similar_proposals(
    session: AsyncSession, actor: User | None, proposal_id: uuid.UUID
) -> list[SimilarProposal]:
    """Likely duplicates of a proposal the actor may see."""
    proposal, ctx = await proposal_context(session, actor, proposal_id)
    return await find_similar(
        session,
        actor,
        ctx,
        title=proposal.title,
        body=proposal.body,
        exclude_id=proposal.id,
        counts_visible=ctx.counts_visible,
    )


async def similar_to_draft(
    session: AsyncSession, actor: User | None, table_id: uuid.UUID, *, title: str, body: str
) -> list[SimilarProposal]:
    """Likely duplicates of a proposal not written yet, in a table the actor may see."""
    ctx = await table_context(session, actor, table_id)
    return await find_similar(
        session, actor, ctx, title=title, body=body, counts_visible=ctx.counts_visible
    )
