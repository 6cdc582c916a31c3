"""Moderation: /v1/reports, the queues (/v1/tables/{id}/moderation,
/v1/organizations/{org}/moderation) and /v1/moderation/actions."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from app.db import SessionDep
from app.deps import CurrentUser, ParticipantUser
from app.models.moderation import (
    ModerationActionIn,
    ModerationItem,
    ModerationTargetType,
    QueueState,
    QueueView,
    ReportCreate,
    ReportPublic,
)
from app.pagination import Page, PageParamsDep
from app.services.moderation import actions as moderation_actions
from app.services.moderation import queue as moderation_queue
from app.services.moderation import reports
from app.write_limits import write_limit

router = APIRouter(prefix="/v1", tags=["moderation"])

StateFilter = Annotated[
    QueueState | None,
    Query(
        description="`reported` (still visible), `pending` (awaiting approval) or `hidden` "
        "(hidden by reports, awaiting review)."
    ),
]
TargetTypeFilter = Annotated[ModerationTargetType | None, Query()]
ViewFilter = Annotated[
    QueueView,
    Query(
        description="`queue` (default): the open items. `hidden`: all content hidden now, "
        "by reports or by a moderator, reviewed or not — to find what to unhide. "
        "`locked`: every locked thread — to find what to unlock."
    ),
]

REPORT_DESCRIPTION = """Report a proposal, comment, meeting or person to the moderators.
Requires a verified email address, so that throwaway accounts cannot hide content.

Only what the caller may see can be reported (404 otherwise, also for content already
hidden or awaiting approval); reports of a person name the `organization` (slug) whose
moderators should review them (422 `organization_required`; other reports take no
`organization`: 422 `organization_not_applicable`). Once per person and target: 409
`already_reported`. Your own content, or yourself: 422 `own_content`.

When the reports not dismissed by a moderator reach the organization's threshold
(`report_threshold`, 3 by default), the content is hidden until a moderator reviews it."""

QUEUE_DESCRIPTION = """Open items, oldest first: content reported and not yet reviewed
(`reported`, or `hidden` once the reports hid it) and content awaiting approval
(`pending`). Each item shows the content, its status, its reports and its history (the
audit entries about it, newest first).

`?view=hidden` lists instead everything hidden now (by reports or by a moderator,
reviewed or not), and `?view=locked` every locked thread: where a moderator finds what
to unhide or unlock."""

ACTION_DESCRIPTION = """`hide` (proposals, comments, meetings; confirms a hiding by
reports), `unhide` (visible again; the reports are dismissed), `dismiss` (the reports are
dismissed, the content stays as it is; refused with 409 `hidden_by_reports` on content the
reports hid: `unhide` or `hide` it instead), `approve` (pending → visible), `lock` /
`unlock` (no new comments on a proposal, meeting, poll or plan node, or no more replies in
a root comment's thread). `reason` goes to the audit log.

Moderators of the target only: the facilitators of its table, the organization's admins,
platform admins; for people, plan nodes and comments on plan nodes the organization's
admins. Anything else is a 404. Impossible moves are a 409 (`already_hidden`,
`not_hidden`, `nothing_to_dismiss`, `hidden_by_reports`, `not_pending`, `already_locked`,
`not_locked`); actions that do not apply to the kind of target a 422
(`action_not_applicable`, `not_a_thread_root`). Answers with the updated item."""


@router.post(
    "/reports",
    response_model=ReportPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(write_limit("reports"))],
    summary="Report content or a person to the moderators (participants: verified, and "
    "under 14 with a guardian's consent)",
    description=REPORT_DESCRIPTION,
)
async def create_report(
    session: SessionDep, user: ParticipantUser, body: ReportCreate
) -> ReportPublic:
    return await reports.create_report(session, user, body)


@router.get(
    "/tables/{table_id}/moderation",
    response_model=Page[ModerationItem],
    summary="A table's moderation queue (its facilitators, organization admins, platform admins)",
    description=QUEUE_DESCRIPTION,
)
async def table_queue(
    session: SessionDep,
    user: CurrentUser,
    table_id: uuid.UUID,
    page: PageParamsDep,
    state: StateFilter = None,
    target_type: TargetTypeFilter = None,
    view: ViewFilter = "queue",
) -> Page[ModerationItem]:
    items, cursor = await moderation_queue.table_queue(
        session, user, table_id, state, target_type, page, view
    )
    return Page(items=items, next_cursor=cursor)


@router.get(
    "/organizations/{org}/moderation",
    response_model=Page[ModerationItem],
    summary="An organization's moderation queue (organization admins, platform admins)",
    description=QUEUE_DESCRIPTION,
)
async def organization_queue(
    session: SessionDep,
    user: CurrentUser,
    org: str,
    page: PageParamsDep,
    state: StateFilter = None,
    target_type: TargetTypeFilter = None,
    view: ViewFilter = "queue",
) -> Page[ModerationItem]:
    items, cursor = await moderation_queue.organization_queue(
        session, user, org, state, target_type, page, view
    )
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/moderation/actions",
    operation_id="moderate",
    response_model=ModerationItem,
    summary="Hide, unhide, dismiss, approve, lock or unlock (the target's moderators)",
    description=ACTION_DESCRIPTION,
)
async def act(session: SessionDep, user: CurrentUser, body: ModerationActionIn) -> ModerationItem:
    return await moderation_actions.act(session, user, body)
