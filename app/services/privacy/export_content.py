"""Sections of the personal-data export about what the person wrote or did in tables:
proposals, co-authorships, comments, comment votes, supports, poll participations and
reports filed. One query each (proposals: two), on an index of the person's id.
"""

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.comments import Comment, CommentVote
from app.models.moderation import Moderation, Report
from app.models.polls import Poll, PollParticipation
from app.models.privacy import (
    ExportCoauthorship,
    ExportComment,
    ExportCommentVote,
    ExportPollParticipation,
    ExportProposal,
    ExportReport,
    ExportSupport,
)
from app.models.proposals import Proposal, ProposalCoauthor, ProposalNode, ProposalSupport


async def proposals_section(session: AsyncSession, user_id: uuid.UUID) -> list[ExportProposal]:
    proposals = (
        await session.exec(
            select(Proposal)
            .where(col(Proposal.author_id) == user_id)
            .order_by(col(Proposal.created_at), col(Proposal.id))
        )
    ).all()
    nodes: dict[uuid.UUID, list[uuid.UUID]] = {}
    if proposals:
        for proposal_id, node_id in (
            await session.exec(
                select(ProposalNode.proposal_id, ProposalNode.node_id)
                .join(Proposal, col(Proposal.id) == ProposalNode.proposal_id)
                .where(col(Proposal.author_id) == user_id)
                .order_by(col(ProposalNode.node_id))
            )
        ).all():
            nodes.setdefault(proposal_id, []).append(node_id)
    return [
        ExportProposal(
            id=p.id,
            table_id=p.table_id,
            organization_id=p.organization_id,
            title=p.title,
            body=p.body,
            node_ids=nodes.get(p.id, []),
            municipality_id=p.municipality_id,
            status=p.status,
            moderation_status=p.moderation_status,
            answer_state=p.answer_state,
            answer_text=p.answer_text,
            supports_count=p.supports_count,
            comments_count=p.comments_count,
            published_at=p.published_at,
            withdrawn_at=p.withdrawn_at,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )
        for p in proposals
    ]


async def coauthorships_section(session: AsyncSession, uid: uuid.UUID) -> list[ExportCoauthorship]:
    rows = (
        await session.exec(
            select(Proposal.id, Proposal.title, Proposal.status)
            .join(ProposalCoauthor, col(ProposalCoauthor.proposal_id) == Proposal.id)
            .where(col(ProposalCoauthor.user_id) == uid)
            .order_by(col(Proposal.created_at))
        )
    ).all()
    return [
        ExportCoauthorship(proposal_id=pid, title=title, status=status)
        for pid, title, status in rows
    ]


async def comments_section(session: AsyncSession, uid: uuid.UUID) -> list[ExportComment]:
    rows = (
        await session.exec(
            select(Comment)
            .where(col(Comment.author_id) == uid)
            .order_by(col(Comment.created_at), col(Comment.id))
        )
    ).all()
    return [
        ExportComment(
            id=c.id,
            organization_id=c.organization_id,
            target_type=c.target_type,
            target_id=c.target_id,
            parent_id=c.parent_id,
            body=c.body,
            alignment=c.alignment,
            status=c.status,
            deleted=c.deleted_at is not None,
            upvotes=c.upvotes,
            downvotes=c.downvotes,
            edited_at=c.edited_at,
            created_at=c.created_at,
        )
        for c in rows
    ]


async def comment_votes_section(session: AsyncSession, uid: uuid.UUID) -> list[ExportCommentVote]:
    rows = (
        await session.exec(
            select(CommentVote)
            .where(col(CommentVote.user_id) == uid)
            .order_by(col(CommentVote.created_at))
        )
    ).all()
    return [
        ExportCommentVote(
            comment_id=v.comment_id,
            value=v.value,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )
        for v in rows
    ]


async def supports_section(session: AsyncSession, uid: uuid.UUID) -> list[ExportSupport]:
    rows = (
        await session.exec(
            select(ProposalSupport)
            .where(col(ProposalSupport.user_id) == uid)
            .order_by(col(ProposalSupport.created_at))
        )
    ).all()
    return [
        ExportSupport(proposal_id=s.proposal_id, table_id=s.table_id, created_at=s.created_at)
        for s in rows
    ]


async def poll_participations_section(
    session: AsyncSession, uid: uuid.UUID
) -> list[ExportPollParticipation]:
    # Only that they voted: poll_participations has no choice to give away.
    rows = (
        await session.exec(
            select(
                col(PollParticipation.poll_id),
                col(PollParticipation.created_at),
                col(Poll.table_id),
                col(Poll.question),
            )
            .join(Poll, col(Poll.id) == PollParticipation.poll_id)
            .where(col(PollParticipation.user_id) == uid)
            .order_by(col(PollParticipation.created_at))
        )
    ).all()
    return [
        ExportPollParticipation(
            poll_id=poll_id, table_id=table_id, question=question, voted_at=voted_at
        )
        for poll_id, voted_at, table_id, question in rows
    ]


async def reports_filed_section(session: AsyncSession, uid: uuid.UUID) -> list[ExportReport]:
    rows = (
        await session.exec(
            select(Report, Moderation.target_type, Moderation.target_id)
            .join(Moderation, col(Moderation.id) == Report.moderation_id)
            .where(col(Report.reporter_id) == uid)
            .order_by(col(Report.created_at))
        )
    ).all()
    return [
        ExportReport(
            id=r.id,
            target_type=target_type,
            target_id=target_id,
            reason=r.reason,
            details=r.details,
            dismissed_at=r.dismissed_at,
            created_at=r.created_at,
        )
        for r, target_type, target_id in rows
    ]
