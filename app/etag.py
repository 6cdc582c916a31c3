"""Optimistic concurrency for editable documents (plans, nodes, proposals…).

A document has an integer `version`, bumped on every change. Responses carry
`ETag: "<version>"`; a `PATCH` with `If-Match` is applied only if the caller saw the
current version, else 412 — never a silent lost update. Services lock the row
(`SELECT … FOR UPDATE`) before calling `check_if_match`, so the check and the write are
atomic under concurrency.
"""

from typing import Annotated

from fastapi import Header, Response

from app.error_codes import ErrorCode
from app.errors import PreconditionFailed


def etag_for(version: int) -> str:
    return f'"{version}"'


def check_if_match(if_match: str | None, current_version: int) -> None:
    """Raise 412 unless `If-Match` is absent, `*`, or lists the current version's ETag."""
    if if_match is None:
        return
    candidates = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    if "*" in candidates or etag_for(current_version) in candidates:
        return
    raise PreconditionFailed(
        "The document changed since you read it; fetch it again and reapply your edit.",
        code=ErrorCode.STALE_ETAG,
        extra={"current_etag": etag_for(current_version)},
    )


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=512,
        description="ETag of the version you edited; a stale one is refused with 412.",
    ),
]
