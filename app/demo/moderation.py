"""The demo's moderation: something for the youth table's facilitator to review.

Written through the real services, as the people would: a participant's proposal held
for approval (the table is pre-moderated: it admits people under 18), a spam comment
reported twice (under the threshold of 3, so still shown, but in the queue), and a short
list of blocked words for Bari. Idempotent: each piece is skipped once it exists.
"""

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.demo.comments import youth_table
from app.models.comments import Comment, CommentCreate
from app.models.moderation import Moderation, Report, ReportCreate
from app.models.organizations import Organization
from app.models.plans import PlanNode
from app.models.proposals import Proposal, ProposalCreate
from app.models.tables import ParticipationTable
from app.services.accounts.people import find_user_by_email
from app.services.comments.comments import create_comment
from app.services.moderation.reports import create_report
from app.services.proposals.proposals import create_proposal

HELD_PROPOSAL = (
    "marco@consulta.demo",
    "Biblioteche di quartiere aperte la sera per chi studia",
    "Molti di noi studiano in case piccole e rumorose. Chiediamo che almeno una "
    "biblioteca per municipio resti aperta fino alle 23 nei mesi degli esami, con wifi "
    "e prese per i computer, gestita anche con associazioni giovanili.",
)
SPAM = (
    "luca@consulta.demo",
    "Una ciclabile continua sul lungomare, da Santo Spirito a Torre a Mare",
    "Vuoi guadagnare 500 euro a settimana da casa? Scrivimi in privato, posti limitati!!!",
)
REPORTERS = ("sara@consulta.demo", "chiara@consulta.demo")
BLOCKED_WORDS = ["idiota", "idioti", "imbecille", "imbecilli", "cretino", "cretini"]


async def _held_proposal(session: AsyncSession, table: ParticipationTable) -> list[str]:
    """A proposal awaiting approval (the youth table is pre-moderated)."""
    email, title, body = HELD_PROPOSAL
    author = await find_user_by_email(session, email)
    exists = (
        await session.exec(
            select(Proposal.id).where(
                col(Proposal.table_id) == table.id, col(Proposal.title) == title
            )
        )
    ).first()
    if author is None or exists is not None:
        return []
    node = (
        await session.exec(
            select(PlanNode.id)
            .where(col(PlanNode.plan_id) == table.plan_id, col(PlanNode.depth) == 0)
            .order_by(col(PlanNode.sort_path))
        )
    ).first()
    if node is None:
        return []
    await create_proposal(
        session,
        author,
        table.id,
        ProposalCreate(title=title, body=body, node_ids=[node]),
    )
    return ["table cm-bari/tavolo-giovani: a proposal awaiting approval"]


async def _spam_comment(session: AsyncSession, table: ParticipationTable) -> uuid.UUID | None:
    """The spam comment on the demo proposal (written once), or None without them."""
    email, proposal_title, spam_body = SPAM
    spammer = await find_user_by_email(session, email)
    proposal_id = (
        await session.exec(
            select(Proposal.id).where(
                col(Proposal.table_id) == table.id, col(Proposal.title) == proposal_title
            )
        )
    ).first()
    if spammer is None or proposal_id is None:
        return None
    spam_id = (
        await session.exec(
            select(Comment.id).where(
                col(Comment.target_id) == proposal_id, col(Comment.body) == spam_body
            )
        )
    ).first()
    if spam_id is None:
        created = await create_comment(
            session, spammer, "proposal", proposal_id, CommentCreate(body=spam_body), approved=True
        )
        spam_id = created.id
    return spam_id


async def _report_spam(session: AsyncSession, spam_id: uuid.UUID) -> int:
    """Reports of the spam comment by the demo reporters who have not reported it yet."""
    reported = set(
        (
            await session.exec(
                select(Report.reporter_id)
                .join(Moderation, col(Moderation.id) == Report.moderation_id)
                .where(
                    col(Moderation.target_type) == "comment",
                    col(Moderation.target_id) == spam_id,
                )
            )
        ).all()
    )
    added = 0
    for reporter_email in REPORTERS:
        reporter = await find_user_by_email(session, reporter_email)
        if reporter is None or reporter.id in reported:
            continue
        await create_report(
            session,
            reporter,
            ReportCreate(
                target_type="comment",
                target_id=spam_id,
                reason="spam",
                details="Pubblicità, non c'entra con la proposta.",
            ),
        )
        added += 1
    return added


async def seed_demo_moderation(session: AsyncSession) -> list[str]:
    table = await youth_table(session)
    if table is None or table.plan_id is None:
        return []
    report: list[str] = []
    org = await session.get(Organization, table.organization_id)
    assert org is not None
    if "blocked_words" not in org.settings:
        org.settings = {**org.settings, "blocked_words": BLOCKED_WORDS}
        report.append(f"organization {org.slug}: blocked words for the word filter")
    report += await _held_proposal(session, table)
    spam_id = await _spam_comment(session, table)
    if spam_id is None:
        return report
    added = await _report_spam(session, spam_id)
    if added:
        report.append(f"table cm-bari/tavolo-giovani: a spam comment reported {added} times")
    return report
