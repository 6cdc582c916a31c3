"""Proposals, supports and tables' participation settings: /v1/tables/{id}/proposals,
/v1/proposals/*, /v1/tables/{id}/settings."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import JSONResponse

from app.db import SessionDep
from app.deps import CurrentUser, OptionalUser, ParticipantUser
from app.etag import IfMatch, set_etag
from app.models.proposals import (
    ProposalAnswerIn,
    ProposalCreate,
    ProposalDraft,
    ProposalPage,
    ProposalPublic,
    ProposalSort,
    ProposalUpdate,
    SimilarCheck,
    SimilarPage,
    StatusFilter,
    SupportStatus,
)
from app.models.tables import TableSettingsPublic, TableSettingsUpdate
from app.pagination import PageParamsDep
from app.services.proposals import proposal_search, proposals, similar, supports
from app.services.proposals.proposal_search import ProposalFilters
from app.services.tables import table_settings
from app.write_limits import write_limit

router = APIRouter(prefix="/v1", tags=["proposals"])

WHO_MAY_PROPOSE = (
    "Who may take part: active members of the table, or — on a public table with an open "
    "membership policy — any verified person meeting its eligibility rules. Writers need a "
    "verified email and, under 14, a guardian's consent on record."
)


@router.get(
    "/tables/{table_id}/proposals",
    response_model=ProposalPage,
    summary="Proposals of a table (whoever may see the table; drafts only for their authors)",
    description=(
        "Filters: `node` (the node and its descendants), `municipality`, `author` (author or "
        "co-author; `me`), `q` (full text, Italian stemming), `status` (repeatable; a "
        "lifecycle status — `draft` (your own), `published`, `withdrawn` — or an answer "
        "state — `evaluating`, `accepted`, `rejected`, `implemented`; default: published).\n\n"
        "Sorts: `recent` (default), `supports` (unavailable to participants when the table "
        "hides supports), `comments`, `random` (seeded: pass `seed`, or reuse the `seed` "
        "returned by the first page; the cursor keeps it). With `q` and no `sort`, by "
        "relevance among the 500 most recent matches (`sort=recent` with `q` walks every "
        "match). Keyset-paginated: a cursor only works with the sort it came from. "
        "Counters may change between pages, so a proposal whose count changes while you "
        "page by supports or comments can move; inserted proposals never appear twice."
    ),
)
async def list_proposals(
    session: SessionDep,
    user: OptionalUser,
    table_id: uuid.UUID,
    page: PageParamsDep,
    node: uuid.UUID | None = None,
    municipality: uuid.UUID | None = None,
    proposal_status: Annotated[
        list[StatusFilter] | None, Query(alias="status", max_length=7)
    ] = None,
    author: Annotated[str | None, Query(max_length=36, description="A user id, or `me`.")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: ProposalSort | None = None,
    seed: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
) -> ProposalPage:
    filters = ProposalFilters(
        node=node,
        municipality=municipality,
        statuses=tuple(proposal_status or ()),
        author=author,
        q=q,
        sort=sort,
        seed=seed,
    )
    return await proposal_search.list_proposals(session, user, table_id, filters, page)


@router.post(
    "/tables/{table_id}/proposals",
    response_model=ProposalPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(write_limit("proposals"))],
    summary="Put forward a proposal (participants; see the description)",
    description=(
        WHO_MAY_PROPOSE
        + '\n\n`status: "draft"` keeps a draft only you see (publish it later); otherwise '
        "the proposal is published. `node_ids` are nodes of the table's plan. Look for likely "
        "duplicates first with `POST /v1/tables/{table_id}/proposals/similar`. (The older "
        "`?check_similar=true`, left out of this document, still answers 200 "
        '`{"similar": [...]}` without creating anything when there are duplicates.)'
    ),
)
async def create_proposal(
    session: SessionDep,
    user: ParticipantUser,
    table_id: uuid.UUID,
    body: ProposalCreate,
    response: Response,
    check_similar: Annotated[bool, Query(include_in_schema=False)] = False,
) -> ProposalPublic | JSONResponse:
    result = await proposals.create_proposal(
        session, user, table_id, body, check_similar=check_similar
    )
    if isinstance(result, SimilarCheck):
        return JSONResponse(result.model_dump(mode="json"), status_code=status.HTTP_200_OK)
    proposal, version = result
    set_etag(response, version)
    response.headers["Location"] = f"/v1/proposals/{proposal.id}"
    return proposal


@router.post(
    "/tables/{table_id}/proposals/similar",
    response_model=SimilarCheck,
    summary="Likely duplicates of a draft: published proposals of the table with similar "
    "words or title, best first (whoever may see the table)",
    description="Send the title and body you are about to propose; nothing is stored. "
    '`{"similar": []}` when there are none.',
)
async def similar_to_draft(
    session: SessionDep, user: OptionalUser, table_id: uuid.UUID, body: ProposalDraft
) -> SimilarCheck:
    items = await similar.similar_to_draft(
        session, user, table_id, title=body.title, body=body.body
    )
    return SimilarCheck(similar=items)


@router.get(
    "/proposals/{proposal_id}",
    response_model=ProposalPublic,
    summary="One proposal (whoever may see its table; a draft only for its author)",
)
async def get_proposal(
    session: SessionDep, user: OptionalUser, proposal_id: uuid.UUID, response: Response
) -> ProposalPublic:
    proposal, version = await proposals.get_proposal(session, user, proposal_id)
    set_etag(response, version)
    return proposal


@router.patch(
    "/proposals/{proposal_id}",
    response_model=ProposalPublic,
    summary="Edit your proposal: a draft, or within the edit window; honours If-Match (its author)",
    description="A draft is always editable; a published proposal for the table's "
    "`edit_window_minutes` after publishing (409 `edit_window_closed` after), and not once "
    "answered. Another person's proposal is a 404. A stale `If-Match` is a 412.",
)
async def update_proposal(
    session: SessionDep,
    user: ParticipantUser,
    proposal_id: uuid.UUID,
    body: ProposalUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> ProposalPublic:
    proposal, version = await proposals.update_proposal(session, user, proposal_id, body, if_match)
    set_etag(response, version)
    return proposal


@router.post(
    "/proposals/{proposal_id}/publish",
    response_model=ProposalPublic,
    summary="Publish your draft (its author; publishing a published proposal changes nothing)",
)
async def publish_proposal(
    session: SessionDep, user: ParticipantUser, proposal_id: uuid.UUID, response: Response
) -> ProposalPublic:
    proposal, version = await proposals.publish_proposal(session, user, proposal_id)
    set_etag(response, version)
    return proposal


@router.post(
    "/proposals/{proposal_id}/withdraw",
    response_model=ProposalPublic,
    summary="Withdraw your published proposal (its author; not once accepted or implemented)",
)
async def withdraw_proposal(
    session: SessionDep, user: ParticipantUser, proposal_id: uuid.UUID, response: Response
) -> ProposalPublic:
    proposal, version = await proposals.withdraw_proposal(session, user, proposal_id)
    set_etag(response, version)
    return proposal


@router.post(
    "/proposals/{proposal_id}/answer",
    response_model=ProposalPublic,
    summary="Answer a proposal: evaluating, accepted, rejected or implemented (the table's "
    "facilitators and organization admins)",
    description="`answer` (text) is required unless the state is `evaluating`. The answer "
    "can be changed later (e.g. accepted → implemented). Rejected proposals can no longer "
    "be supported.",
)
async def answer_proposal(
    session: SessionDep,
    user: CurrentUser,
    proposal_id: uuid.UUID,
    body: ProposalAnswerIn,
    response: Response,
) -> ProposalPublic:
    proposal, version = await proposals.answer_proposal(session, user, proposal_id, body)
    set_etag(response, version)
    return proposal


@router.put(
    "/proposals/{proposal_id}/support",
    response_model=SupportStatus,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(write_limit("supports"))],
    responses={200: {"model": SupportStatus, "description": "You already supported it."}},
    summary="Support a proposal: 201, or 200 if you already do (participants)",
    description=WHO_MAY_PROPOSE
    + "\n\nIdempotent. 409 `supports_blocked` when the table blocks supports, "
    "`support_limit_reached` past the table's per-person limit, `proposal_withdrawn`, "
    "`proposal_rejected` or `proposal_not_published` for proposals that cannot be supported.",
)
async def support_proposal(
    session: SessionDep, user: ParticipantUser, proposal_id: uuid.UUID, response: Response
) -> SupportStatus:
    state, added = await supports.support(session, user, proposal_id)
    if not added:
        response.status_code = status.HTTP_200_OK
    return state


@router.delete(
    "/proposals/{proposal_id}/support",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Withdraw your support (participants; 204 even if you did not support it)",
)
async def withdraw_support(
    session: SessionDep, user: ParticipantUser, proposal_id: uuid.UUID
) -> Response:
    await supports.withdraw_support(session, user, proposal_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/proposals/{proposal_id}/similar",
    response_model=SimilarPage,
    summary="Likely duplicates: published proposals of the same table with similar words "
    "or title (whoever may see the proposal)",
)
async def similar_proposals(
    session: SessionDep, user: OptionalUser, proposal_id: uuid.UUID
) -> SimilarPage:
    items = await similar.similar_proposals(session, user, proposal_id)
    return SimilarPage(items=items)


@router.get(
    "/tables/{table_id}/settings",
    operation_id="get_table_settings",
    response_model=TableSettingsPublic,
    tags=["tables"],
    summary="The table's participation settings (whoever may see the table)",
)
async def get_settings(
    session: SessionDep, user: OptionalUser, table_id: uuid.UUID, response: Response
) -> TableSettingsPublic:
    settings, version = await table_settings.read_settings(session, user, table_id)
    set_etag(response, version)
    return settings


@router.patch(
    "/tables/{table_id}/settings",
    operation_id="update_table_settings",
    response_model=TableSettingsPublic,
    tags=["tables"],
    summary="Change the table's participation settings; honours If-Match (its facilitators, "
    "organization admins)",
)
async def update_settings(
    session: SessionDep,
    user: CurrentUser,
    table_id: uuid.UUID,
    body: TableSettingsUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> TableSettingsPublic:
    settings, version = await table_settings.update_settings(
        session, user, table_id, body, if_match
    )
    set_etag(response, version)
    return settings
