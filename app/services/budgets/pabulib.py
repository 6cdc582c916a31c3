"""The election in the pabulib `.pb` format (https://pabulib.org/format), so anyone can
recount it: one file per area (`META`, `PROJECTS`, `VOTES`), `project_id` = the project's
API id, costs and budget in euro cents, ballots anonymous (`voter_id` 1..n) and shuffled
(a fresh random order at each export, so the order tells nothing). With several areas and
no `area`, a ZIP of one `.pb` per area.

`pabutools.election.parse_pabulib` reads these files back; counting them with the rule in
`META.rule` and the tie-break documented in `counting.py` gives the published outcome
(`PROJECTS.selected`)."""

import csv
import io
import random
import uuid
import zipfile
from typing import NamedTuple

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import NotFound
from app.models.accounts import User
from app.models.budgets import Budget, BudgetArea, BudgetProject
from app.models.organizations import Organization
from app.services.budgets.access import budget_context, phases_of
from app.services.budgets.results import (
    ballots_by_area,
    feasible_projects,
    require_results_visible,
    results_for,
)

RULE_NAMES = {"greedy": "greedy", "equal_shares": "equalshares"}
_shuffle = random.SystemRandom().shuffle


class PbFile(NamedTuple):
    filename: str
    content: bytes
    media_type: str


def _text(value: dict[str, str], locale: str) -> str:
    return value.get(locale) or next(iter(value.values()), "")


def area_pb(
    org: Organization,
    budget: Budget,
    area: BudgetArea,
    projects: list[BudgetProject],
    ballots: list[list[str]],
    votes: dict[str, int],
    funded: set[str],
) -> str:
    """One area's election as a `.pb` document."""
    phases = phases_of(budget)
    meta: list[tuple[str, str]] = [
        ("description", _text(budget.title, org.default_locale)),
        ("country", "Italy"),
        ("unit", org.name),
        ("subunit", area.name),
        ("instance", budget.slug),
        ("num_projects", str(len(projects))),
        ("num_votes", str(len(ballots))),
        ("budget", str(area.amount)),
        ("currency", "EUR (cents)"),
        ("vote_type", "approval"),
        ("rule", RULE_NAMES[budget.counting]),
        ("date_begin", phases.voting.starts_on.strftime("%d.%m.%Y")),
        ("date_end", phases.voting.ends_on.strftime("%d.%m.%Y")),
        ("language", org.default_locale),
        ("tie_breaking", "lower cost first, then lower project_id"),
    ]
    if budget.max_projects is not None:
        meta.append(("max_length", str(budget.max_projects)))
    if budget.voting_method == "cumulative_cost":
        meta.append(("max_sum_cost", str(area.amount)))
        if budget.min_spend_percent:
            meta.append(("min_sum_cost", str(area.amount * budget.min_spend_percent // 100)))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(["META"])
    writer.writerow(["key", "value"])
    writer.writerows(meta)
    writer.writerow(["PROJECTS"])
    writer.writerow(["project_id", "cost", "votes", "name", "selected"])
    for p in projects:
        pid = str(p.id)
        name = _text(p.title, org.default_locale).replace("\n", " ")
        writer.writerow([pid, p.cost, votes.get(pid, 0), name, int(pid in funded)])
    writer.writerow(["VOTES"])
    writer.writerow(["voter_id", "vote"])
    shuffled = list(ballots)
    _shuffle(shuffled)
    for i, ballot in enumerate(shuffled, start=1):
        writer.writerow([i, ",".join(sorted(ballot))])
    return out.getvalue()


async def export_pb(
    session: AsyncSession, actor: User | None, budget_id: uuid.UUID, area_id: uuid.UUID | None
) -> PbFile:
    """Visible when the results are (public from the results phase, staff throughout)."""
    ctx = await budget_context(session, actor, budget_id)
    require_results_visible(ctx)
    budget = ctx.budget
    org = await session.get(Organization, budget.organization_id)
    assert org is not None
    stmt = select(BudgetArea).where(col(BudgetArea.budget_id) == budget.id)
    if area_id is not None:
        stmt = stmt.where(col(BudgetArea.id) == area_id)
    areas = list((await session.exec(stmt.order_by(col(BudgetArea.created_at)))).all())
    if not areas:
        raise NotFound("No such area in this process." if area_id else "This process has no areas.")
    results = await results_for(session, ctx, budget.counting)
    by_area = {a.area_id: a for a in results.areas}
    projects: dict[uuid.UUID, list[BudgetProject]] = {}
    for p in await feasible_projects(session, budget.id):
        projects.setdefault(p.area_id, []).append(p)
    ballots = await ballots_by_area(session, budget.id)
    files = []
    for i, area in enumerate(areas, start=1):
        counted = by_area.get(area.id)
        votes = {str(p.id): p.votes for p in counted.projects} if counted else {}
        funded = {str(p.id) for p in counted.projects if p.funded} if counted else set()
        text = area_pb(
            org, budget, area, projects.get(area.id, []), ballots.get(area.id, []), votes, funded
        )
        files.append((f"{budget.slug}_{i:02d}_{area.id}.pb", text))
    if len(files) == 1:
        name, text = files[0]
        return PbFile(name, text.encode(), "text/plain; charset=utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files:
            archive.writestr(name, text)
    return PbFile(f"{budget.slug}.zip", buffer.getvalue(), "application/zip")
