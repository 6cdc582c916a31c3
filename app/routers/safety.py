"""Suspensions, the audit log and guardian consents: /v1/organizations/{org}/…"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from app.db import SessionDep
from app.deps import CurrentUser
from app.models.base import Instant
from app.models.moderation import REASON_MAX, SuspensionCreate
from app.models.safety import (
    AuditEntryView,
    GuardianConsentCreate,
    GuardianConsentPublic,
    SuspensionLift,
    SuspensionPublic,
)
from app.pagination import Page, PageParamsDep
from app.services.audit import read as audit_log
from app.services.moderation import suspensions
from app.services.tables import guardian_consent

router = APIRouter(prefix="/v1/organizations", tags=["moderation"])


@router.post(
    "/{org}/suspensions/{user_id}",
    response_model=SuspensionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Suspend a person in the organization (organization admin, platform admin)",
    description="While in force (not lifted, and no `ends_at` or one in the future) the "
    "person's writes in this organization — proposals, supports, comments, votes, ballots, "
    "registrations, joining tables, reports — are refused with 403 `suspended`. Their "
    "sessions end at once (access tokens refused, refresh tokens revoked); they may sign "
    "in again to read, export or erase their data. One in force at a time (409 "
    "`already_suspended`); not yourself (422 `cannot_suspend_self`) nor an admin of the "
    "organization (409 `cannot_suspend_admin`); `ends_at` in the future (422). Audited "
    "as `suspension.created`.",
)
async def suspend(
    session: SessionDep,
    user: CurrentUser,
    org: str,
    user_id: uuid.UUID,
    body: SuspensionCreate,
) -> SuspensionPublic:
    return await suspensions.suspend(session, user, org, user_id, body)


@router.delete(
    "/{org}/suspensions/{user_id}",
    response_model=SuspensionPublic,
    summary="Lift the suspension in force (organization admin, platform admin)",
    description='Optional reason in the body (`{"reason": …}`) or as `?reason=`. 404 when '
    "no suspension is in force. Audited as `suspension.lifted`.",
)
async def lift_suspension(
    session: SessionDep,
    user: CurrentUser,
    org: str,
    user_id: uuid.UUID,
    reason: Annotated[str | None, Query(min_length=1, max_length=REASON_MAX)] = None,
    body: Annotated[SuspensionLift | None, Body()] = None,
) -> SuspensionPublic:
    given = body.reason if body is not None and body.reason is not None else reason
    return await suspensions.lift(session, user, org, user_id, given.strip() if given else None)


@router.get(
    "/{org}/suspensions",
    response_model=Page[SuspensionPublic],
    summary="The organization's suspensions, newest first (organization admin, platform admin)",
    description="`?active=true`: in force now; `?active=false`: lifted or ended. "
    "`?user_id=`: one person's.",
)
async def list_suspensions(
    session: SessionDep,
    user: CurrentUser,
    org: str,
    page: PageParamsDep,
    active: bool | None = None,
    user_id: uuid.UUID | None = None,
) -> Page[SuspensionPublic]:
    items, cursor = await suspensions.list_suspensions(
        session, user, org, page, active=active, user_id=user_id
    )
    return Page(items=items, next_cursor=cursor)


@router.get(
    "/{org}/audit-log",
    response_model=Page[AuditEntryView],
    summary="The organization's audit log, newest first (organization admin, platform admin)",
    description="Append-only record of moderation and administration actions. Filters: "
    "`action` — an action's full name (`moderation.hide`) or its family (`moderation`) — "
    "`actor_id`, `target_type`, `target_id`, `since` (inclusive) and `until` (exclusive), "
    "both with a UTC offset.\n\nActions: `moderation.hide`, `.unhide`, `.dismiss`, "
    "`.approve`, `.lock`, `.unlock`, `.auto_hidden`; `suspension.created`, `.lifted`; "
    "`guardian_consent.recorded`, `.withdrawn`; `organization.created`, "
    "`.updated`, `.role_assigned`, `.role_revoked`; `municipality.created`; "
    "`plan.imported`, `plan.updated`, `plan_node.updated`; `indicator.created`, "
    "`measurement.recorded`; `table.created`, `.updated`, `.settings_updated`; "
    "`membership.invited`, `.approved`, `.rejected`, `.removed`, `.role_changed`; "
    "`meeting.created`, `.updated`, `.cancelled`, `.reinstated`, `.minutes_published`, "
    "`.minutes_updated`; `poll.created`; `proposal.answered`.",
)
async def list_audit_log(
    session: SessionDep,
    user: CurrentUser,
    org: str,
    page: PageParamsDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: uuid.UUID | None = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: uuid.UUID | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
) -> Page[AuditEntryView]:
    items, cursor = await audit_log.list_audit_log(
        session,
        user,
        org,
        page,
        action=action,
        actor_id=actor_id,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/{org}/guardian-consents",
    response_model=GuardianConsentPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Record a guardian's consent for a person under 14 (organization admin, or a "
    "facilitator of a table where the person is a member or asked to join)",
    description="Lets the person write (propose, comment, support, vote). 404 unless the "
    "person is an active member of, or has a pending request to join, a table of this "
    "organization that you run (admins run them all). 422 `consent_not_needed` for people "
    "14 or older or without a birth date; 409 `consent_already_recorded`. "
    "`guardian_name` is checked, not stored (the organization keeps the consent form); "
    "the audit log (`guardian_consent.recorded`) keeps who recorded it, when, the date "
    "of consent and the note.",
)
async def record_guardian_consent(
    session: SessionDep, user: CurrentUser, org: str, body: GuardianConsentCreate
) -> GuardianConsentPublic:
    return await guardian_consent.record_consent(session, user, org, body)


@router.delete(
    "/{org}/guardian-consents/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Withdraw a guardian's consent (same people as recording it)",
    description="The person can no longer write while under 14. 404 when none is on "
    "record. Audited as `guardian_consent.withdrawn` (optional `?reason=`).",
)
async def withdraw_guardian_consent(
    session: SessionDep,
    user: CurrentUser,
    org: str,
    user_id: uuid.UUID,
    reason: Annotated[str | None, Query(min_length=1, max_length=REASON_MAX)] = None,
) -> Response:
    await guardian_consent.withdraw_consent(session, user, org, user_id, reason)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
