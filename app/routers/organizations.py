"""Organizations: /v1/organizations/*."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.db import SessionDep
from app.deps import CurrentUser, PlatformAdmin
from app.models.organizations import (
    AssignableRole,
    MunicipalityCreate,
    MunicipalityPublic,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationUpdate,
    RoleAssign,
    RolePublic,
    RoleRevoke,
)
from app.pagination import Page, PageParamsDep
from app.services.access import orgs
from app.services.organizations import organizations
from app.services.roles import roles

router = APIRouter(prefix="/v1/organizations", tags=["organizations"])


@router.get("", response_model=Page[OrganizationPublic], summary="List organizations (public)")
async def list_organizations(session: SessionDep, page: PageParamsDep) -> Page[OrganizationPublic]:
    items, cursor = await organizations.list_organizations(session, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "",
    response_model=OrganizationPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create an organization (platform admin)",
)
async def create_organization(
    session: SessionDep, admin: PlatformAdmin, body: OrganizationCreate
) -> OrganizationPublic:
    return await organizations.create_organization(session, admin, body)


@router.get("/{org}", response_model=OrganizationPublic, summary="One organization (public)")
async def get_organization(session: SessionDep, org: str) -> OrganizationPublic:
    return await organizations.organization_public(
        session, await orgs.get_organization(session, org)
    )


@router.patch(
    "/{org}",
    response_model=OrganizationPublic,
    summary="Edit an organization (its admins, platform admin)",
)
async def update_organization(
    session: SessionDep, user: CurrentUser, org: str, body: OrganizationUpdate
) -> OrganizationPublic:
    return await organizations.update_organization(session, user, org, body)


@router.get(
    "/{org}/municipalities",
    response_model=Page[MunicipalityPublic],
    summary="The comuni of the organization's area, by name (public)",
)
async def list_municipalities(
    session: SessionDep, org: str, page: PageParamsDep
) -> Page[MunicipalityPublic]:
    items, cursor = await organizations.list_municipalities(session, org, page)
    return Page(items=[MunicipalityPublic.model_validate(m) for m in items], next_cursor=cursor)


@router.post(
    "/{org}/municipalities",
    response_model=MunicipalityPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add a municipality (organization admin)",
)
async def create_municipality(
    session: SessionDep, user: CurrentUser, org: str, body: MunicipalityCreate
) -> MunicipalityPublic:
    return MunicipalityPublic.model_validate(
        await organizations.create_municipality(session, user, org, body)
    )


@router.get(
    "/{org}/roles",
    response_model=Page[RolePublic],
    summary="Role assignments: the organization's admins and its tables' facilitators "
    "(organization admin)",
    description="Oldest first. A facilitator's assignment has `table_id` and the id of "
    "their membership of the table; `DELETE …/roles/{id}` takes either kind of id.",
)
async def list_roles(
    session: SessionDep,
    user: CurrentUser,
    org: str,
    page: PageParamsDep,
    role: Annotated[AssignableRole | None, Query(description="Only this role.")] = None,
    table_id: Annotated[
        uuid.UUID | None, Query(description="Only the facilitators of this table.")
    ] = None,
) -> Page[RolePublic]:
    items, cursor = await roles.list_roles(session, user, org, page, role, table_id)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/{org}/roles",
    response_model=RolePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Appoint an organization admin, or a table's facilitator (`role: facilitator`, "
    "`table_id`), by user id or email (organization admin)",
)
async def assign_role(
    session: SessionDep, user: CurrentUser, org: str, body: RoleAssign
) -> RolePublic:
    return await roles.assign_role(session, user, org, body)


@router.delete(
    "/{org}/roles",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a role, named by {user_id, role, table_id?} in the body; a dismissed "
    "facilitator stays a member (organization admin)",
)
async def revoke_role(
    session: SessionDep, user: CurrentUser, org: str, body: RoleRevoke
) -> Response:
    await roles.revoke_role(session, user, org, body)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/{org}/roles/{role_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a role assignment by its id (organization admin)",
)
async def revoke_role_by_id(
    session: SessionDep, user: CurrentUser, org: str, role_id: uuid.UUID
) -> Response:
    await roles.revoke_role_by_id(session, user, org, role_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
