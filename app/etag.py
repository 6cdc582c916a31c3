"""Validators: optimistic concurrency for editable documents (plans, nodes, proposals…)
and the representation validator of conditional GETs.

A document has an integer `version`, bumped on every change by its editors. A `PATCH`
with `If-Match` is applied only if the caller saw the current version, else 412 — never
a silent lost update. Services lock the row (`SELECT … FOR UPDATE`) before calling
`check_if_match`, so the check and the write are atomic under concurrency.

Two validators in one tag. Routes set `ETag: "<version>"`; on a GET answered 200,
`app/conventions.py` appends a strong hash of the whole body: `ETag: "<version>.<hash>"`
(`"<hash>"` for what has no version). `If-None-Match` compares the whole tag, so a
support, a new comment count or a per-viewer field gives a new tag and a fresh 200.
`If-Match` compares the version part only (`"7"` and `"7.<any hash>"` both name
version 7), so someone else's support never turns the author's edit into a 412. Answers
to a `PATCH` carry the version alone.
"""

import hashlib
import re
from typing import Annotated

from fastapi import Header, Response

from app.error_codes import ErrorCode
from app.errors import PreconditionFailed


def etag_for(version: int) -> str:
    return f'"{version}"'


_VERSION_TAG = re.compile(r'^"(\d+)(?:\.[0-9a-f]+)?"$')


def _tags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def check_if_match(if_match: str | None, current_version: int) -> None:
    """Raise 412 unless `If-Match` is absent, `*`, or lists a tag of the current version
    (`"<version>"` or `"<version>.<hash>"`: the hash is not compared)."""
    if if_match is None:
        return
    candidates = _tags(if_match)
    versions = {m.group(1) for m in map(_VERSION_TAG.match, candidates) if m is not None}
    if "*" in candidates or str(current_version) in versions:
        return
    raise PreconditionFailed(
        "The document changed since you read it; fetch it again and reapply your edit.",
        code=ErrorCode.STALE_ETAG,
        extra={"current_etag": etag_for(current_version)},
    )


def representation_etag(body: bytes, route_etag: str | None) -> str:
    """The strong validator of a GET's body: the route's version tag (if any) with a hash
    of the body appended; a route tag that is not a version tag is kept as it is."""
    digest = hashlib.blake2b(body, digest_size=10).hexdigest()
    if route_etag is None:
        return f'"{digest}"'
    match = _VERSION_TAG.match(route_etag)
    return f'"{match.group(1)}.{digest}"' if match else route_etag


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Whether `If-None-Match` lists `etag` (weak comparison, as RFC 9110 asks) or is `*`."""
    if if_none_match is None:
        return False
    candidates = _tags(if_none_match)
    return "*" in candidates or etag.removeprefix("W/") in candidates


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=512,
        description='ETag of the version you edited: the `"<version>.<hash>"` of a GET or '
        'the `"<version>"` of an edit; only the version is compared, and a stale one is '
        "refused with 412.",
    ),
]
