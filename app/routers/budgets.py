"""Participatory budgeting: /v1/organizations/{org}/budgets, /v1/budgets/*,
/v1/budget-projects/*."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from app.db import SessionDep
from app.deps import CurrentUser, OptionalUser, ParticipantUser
from app.models.budget_schemas import (
    AreaCreate,
    AreaPublic,
    BallotPublic,
    BallotPut,
    BudgetCreate,
    BudgetPublic,
    BudgetResultsPublic,
    BudgetUpdate,
    Counting,
    PaperBallotCreate,
    PaperBallotReceipt,
    ProjectCreate,
    ProjectPublic,
    ProjectUpdate,
)
from app.pagination import Page, PageParamsDep
from app.services.budgets import areas, ballots, pabulib, processes, projects, results
from app.write_limits import write_limit

router = APIRouter(prefix="/v1", tags=["budgets"])

STAFF = "the organization's admins and the facilitators of the process's table"

SECRECY = """Ballots are secret: the ballot is stored under a key only your own request can
compute, with no name, account or time; a separate record says only *that* you voted
(turnout, and so that nobody votes twice, online or on paper). Nobody but you can see
your choices — not staff, exports, events or open data."""

BALLOT_RULES = """`project_ids`: feasible projects of this process, all of one area — your
area of residence, or any one area if the process allows it (`eligibility.any_area`).
422 with the rule broken: `duplicate_projects`, `unknown_project`, `unfeasible_project`,
`other_area`, `too_many_projects` (over `voting.max_projects`), `over_budget` (total cost
over the area's amount, `cumulative_cost`), `under_min_spend` (below
`voting.min_spend_percent`), `not_in_voting_phase`. 403 `too_young`,
`birth_date_required`, `residence_required`, `not_resident` when not eligible."""


@router.get(
    "/organizations/{org}/budgets",
    response_model=Page[BudgetPublic],
    summary="An organization's participatory budgeting processes, newest first (anyone)",
)
async def list_budgets(session: SessionDep, org: str, page: PageParamsDep) -> Page[BudgetPublic]:
    items, cursor = await processes.list_budgets(session, org, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/organizations/{org}/budgets",
    response_model=BudgetPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a participatory budgeting process (organization admins)",
    description="Phases are dates in Europe/Rome, inclusive, in order; `voting.method` "
    "`approval` (up to `max_projects`) or `cumulative_cost` (total cost within the area's "
    "amount, at least `min_spend_percent` of it); `voting.counting` `greedy` or "
    "`equal_shares`; `eligibility.min_age`, `eligibility.any_area`.",
)
async def create_budget(
    session: SessionDep, user: CurrentUser, org: str, body: BudgetCreate
) -> BudgetPublic:
    return await processes.create_budget(session, user, org, body)


@router.get(
    "/budgets/{budget_id}",
    response_model=BudgetPublic,
    summary="One process, with its current phase and turnout (anyone)",
)
async def get_budget(session: SessionDep, user: OptionalUser, budget_id: uuid.UUID) -> BudgetPublic:
    return await processes.get_budget(session, user, budget_id)


@router.patch(
    "/budgets/{budget_id}",
    response_model=BudgetPublic,
    summary=f"Edit a process ({STAFF})",
    description="`voting` and `eligibility` only before voting starts (409 `voting_started`).",
)
async def update_budget(
    session: SessionDep, user: CurrentUser, budget_id: uuid.UUID, body: BudgetUpdate
) -> BudgetPublic:
    return await processes.update_budget(session, user, budget_id, body)


@router.get(
    "/budgets/{budget_id}/areas",
    response_model=Page[AreaPublic],
    summary="A process's areas with their amounts in euro cents (anyone)",
)
async def list_areas(
    session: SessionDep, user: OptionalUser, budget_id: uuid.UUID
) -> Page[AreaPublic]:
    return Page(items=await areas.list_areas(session, user, budget_id), next_cursor=None)


@router.post(
    "/budgets/{budget_id}/areas",
    response_model=AreaPublic,
    status_code=status.HTTP_201_CREATED,
    summary=f"Add an area before voting starts ({STAFF})",
    description="`municipality_ids`: municipalities of the organization, each in at most "
    "one area of the process (409 `municipality_in_other_area`); `amount` in euro cents.",
)
async def create_area(
    session: SessionDep, user: CurrentUser, budget_id: uuid.UUID, body: AreaCreate
) -> AreaPublic:
    return await areas.create_area(session, user, budget_id, body)


@router.get(
    "/budgets/{budget_id}/projects",
    response_model=Page[ProjectPublic],
    summary="A process's projects, oldest first; `?area_id=`, `?on_ballot=` (anyone)",
)
async def list_projects(
    session: SessionDep,
    user: OptionalUser,
    budget_id: uuid.UUID,
    page: PageParamsDep,
    area_id: Annotated[uuid.UUID | None, Query()] = None,
    on_ballot: Annotated[bool | None, Query()] = None,
) -> Page[ProjectPublic]:
    items, cursor = await projects.list_projects(
        session, user, budget_id, page, area_id=area_id, on_ballot=on_ballot
    )
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/budgets/{budget_id}/projects",
    response_model=ProjectPublic,
    status_code=status.HTTP_201_CREATED,
    summary=f"Add a costed project before voting starts ({STAFF})",
    description="`cost` in euro cents; `node_ids` of the process's plan; `proposal_ids`: "
    "proposals it grew out of (each then shows `budget_project_ids`). A new project's "
    "`feasibility` is `pending`: only `feasible` projects are on the ballot.",
)
async def create_project(
    session: SessionDep, user: CurrentUser, budget_id: uuid.UUID, body: ProjectCreate
) -> ProjectPublic:
    return await projects.create_project(session, user, budget_id, body)


@router.get(
    "/budget-projects/{project_id}",
    response_model=ProjectPublic,
    summary="One project, with its verdict and implementation updates (anyone)",
)
async def get_project(
    session: SessionDep, user: OptionalUser, project_id: uuid.UUID
) -> ProjectPublic:
    return await projects.get_project(session, user, project_id)


@router.patch(
    "/budget-projects/{project_id}",
    response_model=ProjectPublic,
    summary=f"Edit, evaluate or track a project ({STAFF})",
    description="Content and the verdict (`feasibility`, `feasibility_report`, audited) "
    "before voting starts (409 `voting_started`); `implementation_status` (`planned`, "
    "`in_progress`, `completed`, with an optional `implementation_note` and "
    "`implementation_date`, kept as a dated update) for funded projects once results are "
    "published (409 `results_not_published`, `not_funded`).",
)
async def update_project(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, body: ProjectUpdate
) -> ProjectPublic:
    return await projects.update_project(session, user, project_id, body)


@router.get(
    "/budgets/{budget_id}/ballot",
    response_model=BallotPublic,
    summary="Your own ballot (the voter only)",
    description=SECRECY + "\n\n404 `no_ballot`; 404 `voted_on_paper` for a paper ballot.",
)
async def get_ballot(session: SessionDep, user: CurrentUser, budget_id: uuid.UUID) -> BallotPublic:
    return await ballots.get_ballot(session, user, budget_id)


@router.put(
    "/budgets/{budget_id}/ballot",
    response_model=BallotPublic,
    dependencies=[Depends(write_limit("supports"))],
    summary="Cast or change your ballot while voting is open (eligible participants)",
    description=SECRECY
    + "\n\n"
    + BALLOT_RULES
    + "\n\n409 `voted_on_paper`; 409 `ballot_unreachable` if the service's key changed.",
)
async def put_ballot(
    session: SessionDep, user: ParticipantUser, budget_id: uuid.UUID, body: BallotPut
) -> BallotPublic:
    return await ballots.put_ballot(session, user, budget_id, body)


@router.delete(
    "/budgets/{budget_id}/ballot",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Withdraw your ballot while voting is open (the voter)",
)
async def delete_ballot(session: SessionDep, user: CurrentUser, budget_id: uuid.UUID) -> Response:
    await ballots.delete_ballot(session, user, budget_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/budgets/{budget_id}/paper-ballots",
    response_model=PaperBallotReceipt,
    status_code=status.HTTP_201_CREATED,
    summary=f"Enter a paper ballot from a polling station ({STAFF})",
    description="The voter is an account (`user_id`, whose eligibility is checked) or a "
    "person identified by a document (`identity`, kept only as a keyed hash); 409 "
    "`already_voted` if they voted online or on paper. Audited, without the choices; "
    "the paper ballot itself is stored under a random key and never shown. " + BALLOT_RULES,
)
async def enter_paper_ballot(
    session: SessionDep, user: CurrentUser, budget_id: uuid.UUID, body: PaperBallotCreate
) -> PaperBallotReceipt:
    return await ballots.enter_paper_ballot(session, user, budget_id, body)


@router.get(
    "/budgets/{budget_id}/results",
    operation_id="get_budget_results",
    response_model=BudgetResultsPublic,
    summary=f"Results per area (anyone once the results phase starts; {STAFF} throughout)",
    description="Counted with pabutools: `greedy` (most votes first, skipping what no longer "
    "fits) or `equal_shares` (Method of Equal Shares with cost satisfaction, completed "
    "greedily). Ties: the cheaper project first, then the lower id. `?counting=` shows "
    "the other rule for comparison. 409 `results_not_published`.",
)
async def get_results(
    session: SessionDep,
    user: OptionalUser,
    budget_id: uuid.UUID,
    counting: Annotated[Counting | None, Query()] = None,
) -> BudgetResultsPublic:
    return await results.get_results(session, user, budget_id, counting)


@router.get(
    "/budgets/{budget_id}/results.pb",
    summary=f"The election in pabulib format (as results: anyone in the results phase; {STAFF})",
    description="One `.pb` per area (`?area=`), or a ZIP of one per area; anonymous ballots "
    "in random order, `project_id` = the project's id, money in euro cents.",
    responses={200: {"content": {"text/plain": {}, "application/zip": {}}}},
)
async def export_pb(
    session: SessionDep,
    user: OptionalUser,
    budget_id: uuid.UUID,
    area: Annotated[uuid.UUID | None, Query()] = None,
) -> Response:
    pb = await pabulib.export_pb(session, user, budget_id, area)
    return Response(
        content=pb.content,
        media_type=pb.media_type,
        headers={"Content-Disposition": f'attachment; filename="{pb.filename}"'},
    )
