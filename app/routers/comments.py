"""Comments: /v1/{proposals|meetings|plan-nodes|polls|budget-projects}/{id}/comments,
/v1/comments/*."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from app.db import SessionDep
from app.deps import CurrentUser, OptionalUser, ParticipantUser
from app.models.comments import (
    CommentCreate,
    CommentOrder,
    CommentPublic,
    CommentTargetType,
    CommentUpdate,
    CommentVotePut,
)
from app.pagination import Page, PageParamsDep
from app.services.comments import comments, reading
from app.services.comments import votes as comment_votes
from app.write_limits import write_limit

router = APIRouter(prefix="/v1", tags=["comments"])

# (path segment, path parameter, target type, what it is)
TARGETS: tuple[tuple[str, str, CommentTargetType, str], ...] = (
    ("proposals", "proposal_id", "proposal", "a proposal"),
    ("meetings", "meeting_id", "meeting", "a meeting"),
    ("plan-nodes", "node_id", "plan_node", "a plan node"),
    ("polls", "poll_id", "poll", "a poll"),
    ("budget-projects", "project_id", "budget_project", "a budget project"),
)

LIST_DESCRIPTION = """A page of root comments, each with its whole thread nested in `replies`
(replies oldest first, down to depth 3). `order`: `oldest` (default), `recent`, or `best`
(upvotes - downvotes). Deleted comments keep their place with `body` and `author` null.
Whoever may see the commented resource may read its comments."""

CREATE_DESCRIPTION = """`parent_id` answers a comment on the same resource (422
`invalid_parent` otherwise; 422 `max_depth` below depth 3). 409 `comments_closed` when the
table or the resource no longer takes comments. On a table's content, the caller must be
able to take part in the table (its active members, or anyone eligible on a public table
with open membership): 403 `not_a_member` / `not_eligible`."""


def _add_target_routes(segment: str, param: str, target_type: CommentTargetType, what: str) -> None:
    TargetId = Annotated[uuid.UUID, Path(alias=param)]  # noqa: N806

    async def list_comments(
        session: SessionDep,
        user: OptionalUser,
        target_id: TargetId,
        page: PageParamsDep,
        order: Annotated[CommentOrder, Query()] = "oldest",
    ) -> Page[CommentPublic]:
        items, cursor = await reading.list_comments(
            session, user, target_type, target_id, order, page
        )
        return Page(items=items, next_cursor=cursor)

    async def create_comment(
        session: SessionDep, user: ParticipantUser, target_id: TargetId, body: CommentCreate
    ) -> CommentPublic:
        return await comments.create_comment(session, user, target_type, target_id, body)

    router.add_api_route(
        f"/{segment}/{{{param}}}/comments",
        list_comments,
        methods=["GET"],
        response_model=Page[CommentPublic],
        summary=f"Comments on {what}, threaded (whoever may see it)",
        description=LIST_DESCRIPTION,
        name=f"list_{target_type}_comments",
    )
    router.add_api_route(
        f"/{segment}/{{{param}}}/comments",
        create_comment,
        methods=["POST"],
        response_model=CommentPublic,
        status_code=status.HTTP_201_CREATED,
        summary=f"Comment on {what}, or reply to a comment (participants)",
        description=CREATE_DESCRIPTION,
        name=f"create_{target_type}_comment",
        dependencies=[Depends(write_limit("comments"))],
    )


for _target in TARGETS:
    _add_target_routes(*_target)


@router.patch(
    "/comments/{comment_id}",
    response_model=CommentPublic,
    summary="Edit your own comment: body and/or alignment; marks it edited (its author)",
)
async def update_comment(
    session: SessionDep, user: ParticipantUser, comment_id: uuid.UUID, body: CommentUpdate
) -> CommentPublic:
    return await comments.update_comment(session, user, comment_id, body)


@router.delete(
    "/comments/{comment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete your own comment; its replies stay (its author, even where comments "
    "are closed)",
)
async def delete_comment(session: SessionDep, user: CurrentUser, comment_id: uuid.UUID) -> None:
    await comments.delete_comment(session, user, comment_id)


@router.put(
    "/comments/{comment_id}/vote",
    response_model=CommentPublic,
    summary="Vote a comment up (1) or down (-1), or change your vote (participants; "
    "not on your own comments: 409 own_comment)",
    # Votes are as cheap to fire in bulk as supports, and share their limit.
    dependencies=[Depends(write_limit("supports"))],
)
async def put_vote(
    session: SessionDep, user: ParticipantUser, comment_id: uuid.UUID, body: CommentVotePut
) -> CommentPublic:
    return await comment_votes.put_vote(session, user, comment_id, body.value)


@router.delete(
    "/comments/{comment_id}/vote",
    response_model=CommentPublic,
    summary="Withdraw your vote on a comment (participants)",
)
async def delete_vote(
    session: SessionDep, user: ParticipantUser, comment_id: uuid.UUID
) -> CommentPublic:
    return await comment_votes.delete_vote(session, user, comment_id)
