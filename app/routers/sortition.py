"""Sortition of a table's members: /v1/tables/{id}/sortition…"""

import uuid

from fastapi import APIRouter, Response, status

from app.db import SessionDep
from app.deps import CurrentUser, OptionalUser, VerifiedUser
from app.models.sortition import (
    ApplicationIn,
    ApplicationPublic,
    Composition,
    DrawPublic,
    FeasibilityReport,
    ReplacementIn,
    ReplacementPublic,
    SortitionConfigIn,
    SortitionConfigPublic,
)
from app.services.sortition import applications, config, draws, members

router = APIRouter(prefix="/v1/tables/{table_id}/sortition", tags=["sortition"])


@router.get(
    "",
    response_model=SortitionConfigPublic,
    summary="The table's sortition: features, quotas, window, algorithm and the published "
    "seed (whoever may see the table)",
)
async def get_sortition(
    session: SessionDep, user: OptionalUser, table_id: uuid.UUID
) -> SortitionConfigPublic:
    return await config.get_config(session, user, table_id)


@router.put(
    "",
    response_model=SortitionConfigPublic,
    summary="Set the sortition (the table's facilitators, organization admins); makes the "
    "membership policy `sortition`; frozen after the draw",
    description="Quotas per feature value: `min`/`max`, or a population `share` (0-1) "
    "becoming ⌊share·n⌋…⌈share·n⌉. Features with `source` `age` or `municipality` are "
    "filled from the applicant's profile. Setting or changing `seed` publishes it "
    "(`seed_published_at`, audited): draws use the seed published before them.",
)
async def put_sortition(
    session: SessionDep, user: CurrentUser, table_id: uuid.UUID, body: SortitionConfigIn
) -> SortitionConfigPublic:
    return await config.put_config(session, user, table_id, body)


@router.post(
    "/applications",
    response_model=ApplicationPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Apply to be drawn, declaring the table's features (verified account, while "
    "the window is open)",
)
async def apply(
    session: SessionDep, user: VerifiedUser, table_id: uuid.UUID, body: ApplicationIn
) -> ApplicationPublic:
    return await applications.apply(session, user, table_id, body)


@router.get(
    "/applications/me",
    response_model=ApplicationPublic,
    summary="Your application, your status after the draw and your selection probability "
    "(the applicant only: nobody sees another's features)",
)
async def get_my_application(
    session: SessionDep, user: CurrentUser, table_id: uuid.UUID
) -> ApplicationPublic:
    return await applications.get_own(session, user, table_id)


@router.put(
    "/applications/me",
    response_model=ApplicationPublic,
    summary="Change your application (while the window is open)",
)
async def update_my_application(
    session: SessionDep, user: CurrentUser, table_id: uuid.UUID, body: ApplicationIn
) -> ApplicationPublic:
    return await applications.update_own(session, user, table_id, body)


@router.delete(
    "/applications/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Withdraw your application (while the window is open)",
)
async def withdraw_my_application(
    session: SessionDep, user: CurrentUser, table_id: uuid.UUID
) -> Response:
    await applications.withdraw(session, user, table_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/check",
    response_model=FeasibilityReport,
    summary="Can the quotas be met by the current applicants? 422 `sortition_infeasible` "
    "names each quota that cannot and by how much (the table's facilitators)",
)
async def check(session: SessionDep, user: CurrentUser, table_id: uuid.UUID) -> FeasibilityReport:
    return await draws.check(session, user, table_id)


@router.post(
    "/draws",
    response_model=DrawPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Queue the draw (the table's facilitators): needs the published seed and the "
    "window closed; the worker runs it, follow it on GET …/draws/{draw_id}",
    description="The inputs (resolved quotas, seed, one anonymous row per application) "
    "are stored with their SHA-256 and the library's version, so the run can be replayed.",
)
async def request_draw(session: SessionDep, user: CurrentUser, table_id: uuid.UUID) -> DrawPublic:
    return await draws.request_draw(session, user, table_id)


@router.get(
    "/draws/{draw_id}",
    response_model=DrawPublic,
    summary="A draw: status, progress, seed, inputs hash, counts (whoever may see the table)",
)
async def get_draw(
    session: SessionDep, user: OptionalUser, table_id: uuid.UUID, draw_id: uuid.UUID
) -> DrawPublic:
    return await draws.get_draw(session, user, table_id, draw_id)


@router.post(
    "/replacements",
    response_model=ReplacementPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Replace a panel member with the first on the reserve list who keeps every "
    "quota (the table's facilitators)",
)
async def replace(
    session: SessionDep, user: CurrentUser, table_id: uuid.UUID, body: ReplacementIn
) -> ReplacementPublic:
    return await members.replace(session, user, table_id, body)


@router.get(
    "/composition",
    response_model=Composition,
    summary="The panel's composition against the quotas, and the applicants', as counts "
    "(whoever may see the table)",
)
async def composition(session: SessionDep, user: OptionalUser, table_id: uuid.UUID) -> Composition:
    return await draws.composition(session, user, table_id)
