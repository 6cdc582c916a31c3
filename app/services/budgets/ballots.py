"""Secret ballots: cast, change or withdraw one's own ballot online; staff enter paper
ballots from polling stations.

Secrecy (see `app/models/budgets.py`): the ballot row is keyed by `voter_key`, an HMAC of
(SECRET_KEY, budget, user) that only the voter's own request recomputes; the "has voted"
record (`budget_voters`) carries the person and no choices; events carry neither the
person nor the choices. Paper ballots get a random key: nobody can find them again.

One ballot per person under any concurrency: the "has voted" row is inserted with
`ON CONFLICT DO NOTHING` on (budget, user) and the ballot is upserted on its primary key
(budget, voter_key), so two phones casting at once leave one ballot (the last write).
"""

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy import delete, exists, func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.error_codes import ErrorCode
from app.errors import Conflict, Forbidden, NotFound
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User, age_on
from app.models.budget_schemas import (
    BallotPublic,
    BallotPut,
    PaperBallotCreate,
    PaperBallotReceipt,
)
from app.models.budgets import BudgetArea, BudgetBallot, BudgetProject, BudgetVoter
from app.services.audit.write import record_audit
from app.services.budgets.access import (
    BUDGET_NOT_FOUND,
    BudgetContext,
    budget_context,
)
from app.services.budgets.areas import area_of_residence
from app.services.validation import invalid

NO_BALLOT = "You have no ballot in this process."


def _key(*parts: str) -> str:
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, ":".join(parts).encode(), hashlib.sha256).hexdigest()


def voter_key(budget_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """The key of a person's online ballot; computable only with SECRET_KEY."""
    return _key("budget-ballot", str(budget_id), str(user_id))


def identity_key(budget_id: uuid.UUID, identity: str) -> str:
    """How a paper voter without an account is remembered: never the document itself."""
    normalized = "".join(identity.split()).upper()
    return _key("budget-identity", str(budget_id), normalized)


def _require_voting_open(ctx: BudgetContext) -> None:
    if not ctx.voting_open:
        raise invalid(
            ["body", "project_ids"],
            "This process is not in its voting phase.",
            ErrorCode.NOT_IN_VOTING_PHASE,
        )


async def voter_area(session: AsyncSession, ctx: BudgetContext, user: User) -> uuid.UUID | None:
    """Eligibility (403): old enough and resident in one of the process's areas. Returns
    the area of residence, or None when the process lets people vote in any one area."""
    budget = ctx.budget
    if budget.min_age is not None:
        if user.birth_date is None:
            raise Forbidden(
                "This process has a minimum age: add your birth date to your profile.",
                code=ErrorCode.BIRTH_DATE_REQUIRED,
            )
        if age_on(user.birth_date, ctx.today) < budget.min_age:
            raise Forbidden(
                f"Voting in this process requires being at least {budget.min_age}.",
                code=ErrorCode.TOO_YOUNG,
            )
    if user.municipality_id is None:
        raise Forbidden(
            "Add your municipality of residence to your profile to vote.",
            code=ErrorCode.RESIDENCE_REQUIRED,
        )
    area = await area_of_residence(session, budget.id, user.municipality_id)
    if area is None:
        raise Forbidden(
            "Only residents of the process's municipalities may vote.", code=ErrorCode.NOT_RESIDENT
        )
    return None if budget.any_area else area


async def check_ballot(
    session: AsyncSession,
    ctx: BudgetContext,
    project_ids: Sequence[uuid.UUID],
    area_id: uuid.UUID | None,
) -> uuid.UUID:
    """422 naming the rule a ballot breaks; returns the ballot's area."""
    loc: list[str | int] = ["body", "project_ids"]
    if len(set(project_ids)) != len(project_ids):
        raise invalid(loc, "A project may be chosen once.", ErrorCode.DUPLICATE_PROJECTS)
    rows = (
        await session.exec(
            select(BudgetProject, BudgetArea.amount)
            .join(BudgetArea, col(BudgetArea.id) == BudgetProject.area_id)
            .where(
                col(BudgetProject.budget_id) == ctx.budget.id,
                col(BudgetProject.id).in_(project_ids),
            )
        )
    ).all()
    projects = [p for p, _ in rows]
    amounts = {p.area_id: amount for p, amount in rows}
    found = {p.id: p for p in projects}
    unknown = [str(p) for p in project_ids if p not in found]
    if unknown:
        raise invalid(
            loc, "Not a project of this process: " + ", ".join(unknown), ErrorCode.UNKNOWN_PROJECT
        )
    unfeasible = [str(p.id) for p in projects if p.feasibility != "feasible"]
    if unfeasible:
        raise invalid(
            loc,
            "Not on the ballot (not feasible): " + ", ".join(unfeasible),
            ErrorCode.UNFEASIBLE_PROJECT,
        )
    areas = {p.area_id for p in projects}
    if len(areas) > 1 or (area_id is not None and areas != {area_id}):
        detail = (
            "All projects of a ballot must be of one area."
            if area_id is None or len(areas) > 1
            else "These projects are of another area than yours."
        )
        raise invalid(loc, detail, ErrorCode.OTHER_AREA)
    (chosen_area,) = areas
    budget = ctx.budget
    if budget.max_projects is not None and len(projects) > budget.max_projects:
        raise invalid(
            loc, f"Choose at most {budget.max_projects} projects.", ErrorCode.TOO_MANY_PROJECTS
        )
    if budget.voting_method == "cumulative_cost":
        amount = amounts[chosen_area]
        total = sum(p.cost for p in projects)
        if total > amount:
            raise invalid(
                loc,
                f"The projects cost {total} cents, more than the area's {amount}.",
                ErrorCode.OVER_BUDGET,
            )
        minimum = amount * (budget.min_spend_percent or 0)
        if total * 100 < minimum:
            raise invalid(
                loc,
                f"Choose projects worth at least {budget.min_spend_percent}% of the area's amount.",
                ErrorCode.UNDER_MIN_SPEND,
            )
    return chosen_area


def _ballot_event(session: AsyncSession, ctx: BudgetContext, type_: EventType) -> None:
    # No actor and no choices: the event says only that the turnout may have changed.
    record_event(
        session,
        type_,
        subject_type="budget",
        subject_id=ctx.budget.id,
        actor_id=None,
        organization_id=ctx.budget.organization_id,
        payload={"budget_id": str(ctx.budget.id)},
    )


async def _check_existing_voter(
    session: AsyncSession, ctx: BudgetContext, actor: User, key: str
) -> None:
    """The caller has voted already: on paper (refused), or online under this key (the
    ballot is replaced). A "has voted" record with no ballot under the current key means
    SECRET_KEY changed since: a new ballot would count twice, so it is refused."""
    has_ballot = exists().where(
        col(BudgetBallot.budget_id) == ctx.budget.id, col(BudgetBallot.voter_key) == key
    )
    channel, reachable = (
        await session.exec(
            select(BudgetVoter.channel, has_ballot).where(
                col(BudgetVoter.budget_id) == ctx.budget.id, col(BudgetVoter.user_id) == actor.id
            )
        )
    ).one()
    if channel == "paper":
        raise Conflict(
            "You have voted on paper at a polling station.", code=ErrorCode.VOTED_ON_PAPER
        )
    if not reachable:
        raise Conflict(
            "Your ballot can no longer be found to be changed (the service's key changed).",
            code=ErrorCode.BALLOT_UNREACHABLE,
        )


async def put_ballot(
    session: AsyncSession, actor: User, budget_id: uuid.UUID, data: BallotPut
) -> BallotPublic:
    """Cast or replace the caller's ballot while voting is open."""
    ctx = await budget_context(session, actor, budget_id, lock=True, staff=False, write=True)
    _require_voting_open(ctx)
    residence = await voter_area(session, ctx, actor)
    area_id = await check_ballot(session, ctx, data.project_ids, residence)
    inserted = (
        await session.exec(
            insert(BudgetVoter)
            .values(id=uuid.uuid4(), budget_id=ctx.budget.id, user_id=actor.id, channel="online")
            .on_conflict_do_nothing(index_elements=["budget_id", "user_id"])
            .returning(col(BudgetVoter.id))
        )
    ).first()
    key = voter_key(ctx.budget.id, actor.id)
    if inserted is None:
        await _check_existing_voter(session, ctx, actor, key)
    stmt = insert(BudgetBallot).values(
        budget_id=ctx.budget.id, voter_key=key, area_id=area_id, project_ids=data.project_ids
    )
    await session.exec(
        stmt.on_conflict_do_update(
            index_elements=["budget_id", "voter_key"],
            set_={"area_id": stmt.excluded.area_id, "project_ids": stmt.excluded.project_ids},
        )
    )
    _ballot_event(session, ctx, EventType.BUDGET_BALLOT_CAST)
    await session.flush()
    return BallotPublic(
        budget_id=ctx.budget.id, area_id=area_id, project_ids=data.project_ids, channel="online"
    )


async def get_ballot(session: AsyncSession, actor: User, budget_id: uuid.UUID) -> BallotPublic:
    ctx = await budget_context(session, actor, budget_id, staff=False)
    ballot = await session.get(BudgetBallot, (ctx.budget.id, voter_key(ctx.budget.id, actor.id)))
    if ballot is None:
        paper = (
            await session.exec(
                select(BudgetVoter.channel).where(
                    col(BudgetVoter.budget_id) == ctx.budget.id,
                    col(BudgetVoter.user_id) == actor.id,
                    col(BudgetVoter.channel) == "paper",
                )
            )
        ).first()
        if paper is not None:
            raise NotFound(
                "You voted on paper: a paper ballot cannot be shown to anyone.",
                code=ErrorCode.VOTED_ON_PAPER,
            )
        raise NotFound(NO_BALLOT, code=ErrorCode.NO_BALLOT)
    return BallotPublic(
        budget_id=ballot.budget_id,
        area_id=ballot.area_id,
        project_ids=list(ballot.project_ids),
        channel="online",
    )


async def delete_ballot(session: AsyncSession, actor: User, budget_id: uuid.UUID) -> None:
    """Withdraw the caller's online ballot while voting is open."""
    ctx = await budget_context(session, actor, budget_id, lock=True, staff=False)
    _require_voting_open(ctx)
    deleted = await session.exec(
        delete(BudgetBallot)
        .where(
            col(BudgetBallot.budget_id) == ctx.budget.id,
            col(BudgetBallot.voter_key) == voter_key(ctx.budget.id, actor.id),
        )
        .returning(col(BudgetBallot.area_id))
    )
    if deleted.first() is None:
        raise NotFound(NO_BALLOT, code=ErrorCode.NO_BALLOT)
    await session.exec(
        delete(BudgetVoter).where(
            col(BudgetVoter.budget_id) == ctx.budget.id,
            col(BudgetVoter.user_id) == actor.id,
            col(BudgetVoter.channel) == "online",
        )
    )
    _ballot_event(session, ctx, EventType.BUDGET_BALLOT_WITHDRAWN)
    await session.flush()


async def _paper_voter(
    session: AsyncSession, ctx: BudgetContext, data: PaperBallotCreate
) -> tuple[uuid.UUID | None, str | None]:
    if data.user_id is None:
        assert data.identity is not None
        return None, identity_key(ctx.budget.id, data.identity)
    user = await session.get(User, data.user_id)
    if user is None or user.deleted_at is not None:
        raise invalid(["body", "user_id"], "No account with this id.", ErrorCode.UNKNOWN_USER)
    residence = await voter_area(session, ctx, user)
    if residence is not None and residence != data.area_id:
        raise invalid(["body", "area_id"], "The voter lives in another area.", ErrorCode.OTHER_AREA)
    return user.id, None


async def enter_paper_ballot(
    session: AsyncSession, actor: User, budget_id: uuid.UUID, data: PaperBallotCreate
) -> PaperBallotReceipt:
    """A paper ballot, checked against the "has voted" record: 409 `already_voted` if
    this person has voted online or on paper."""
    ctx = await budget_context(session, actor, budget_id, lock=True)
    if not ctx.is_staff:
        raise NotFound(BUDGET_NOT_FOUND)
    _require_voting_open(ctx)
    area_id = await check_ballot(session, ctx, data.project_ids, data.area_id)
    user_id, identity = await _paper_voter(session, ctx, data)
    conflict = ["budget_id", "user_id"] if user_id is not None else ["budget_id", "identity_key"]
    inserted = (
        await session.exec(
            insert(BudgetVoter)
            .values(
                id=uuid.uuid4(),
                budget_id=ctx.budget.id,
                user_id=user_id,
                identity_key=identity,
                channel="paper",
            )
            .on_conflict_do_nothing(index_elements=conflict)
            .returning(col(BudgetVoter.id))
        )
    ).first()
    if inserted is None:
        raise Conflict(
            "This person has already voted in this process.", code=ErrorCode.ALREADY_VOTED
        )
    session.add(
        BudgetBallot(
            budget_id=ctx.budget.id,
            voter_key=secrets.token_hex(32),
            area_id=area_id,
            project_ids=list(data.project_ids),
        )
    )
    record_audit(
        session,
        EventType.BUDGET_PAPER_BALLOT_ENTERED,
        organization_id=ctx.budget.organization_id,
        actor_id=actor.id,
        target_type="budget",
        target_id=ctx.budget.id,
        data={"budget_id": str(ctx.budget.id), "area_id": str(area_id)},
    )
    await session.flush()
    voters = (
        await session.exec(select(func.count()).where(col(BudgetVoter.budget_id) == ctx.budget.id))
    ).one()
    return PaperBallotReceipt(budget_id=ctx.budget.id, area_id=area_id, voters_count=voters)
