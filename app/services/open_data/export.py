"""What the open-data routes call: the catalog and the datasets, with their validators.

**Validators.** Every state change is an event of the organization's event spine, written
in the changing transaction (ARCHITECTURE.md), so the organization's events — their count
and the last `seq` — change whenever any dataset may have changed (a count catches an
event committed late with a lower `seq`). Results that become public by the clock rather
than by a write add it: the number of closed polls (`poll-results`) or closed surveys
(`survey-results`), and today's date in Rome (`budget-results`, whose phases are dates).
The `ETag` is a weak validator over those and the representation's parameters (dataset,
format, delimiter, and the catalog's own URL); `Last-Modified` is the time of the last
event. Reading them is one index-only scan of the organization's events, so answering
`If-None-Match` with a 304 costs a fraction of the export it saves.
"""

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import NotFound
from app.models.conversations import Conversation, ConversationVote
from app.models.events import Event
from app.models.organizations import Organization
from app.models.polls import Poll
from app.models.surveys import Survey
from app.services.access.orgs import get_organization
from app.services.open_data.catalog import CatalogInput, catalog_jsonld
from app.services.open_data.cells import Cells, Delimiter, Format
from app.services.open_data.datasets import DATASETS
from app.services.open_data.encode import encode_csv, encode_jsonl
from app.services.plans.plans import today_in_rome

DATASET_NOT_FOUND = "No open dataset with this name."
MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
}


@dataclass(frozen=True)
class Validators:
    etag: str
    last_modified: datetime

    def matches(self, if_none_match: str | None) -> bool:
        """`If-None-Match` names this representation (weak comparison, or `*`)."""
        if not if_none_match:
            return False
        tags = [t.strip() for t in if_none_match.split(",")]
        return "*" in tags or any(t.removeprefix("W/") == self.etag[2:] for t in tags)


@dataclass(frozen=True)
class Download:
    validators: Validators
    filename: str
    media_type: str
    # None when the caller's copy is current (no query run, nothing to send).
    body: AsyncIterator[bytes] | None


async def _clock(session: AsyncSession, org: Organization, dataset: str | None) -> str:
    now = datetime.now(UTC)
    if dataset == "poll-results":
        stmt = select(func.count()).where(
            col(Poll.organization_id) == org.id, col(Poll.closes_at) <= now
        )
        return str((await session.exec(stmt)).one())
    if dataset == "survey-results":
        stmt = select(func.count()).where(
            col(Survey.organization_id) == org.id, col(Survey.closes_at) <= now
        )
        return str((await session.exec(stmt)).one())
    if dataset in ("conversation-statements", "conversation-votes"):
        # Votes write no events (one per vote would flood the feed): their count, sum
        # and latest change stand for them; a statement's moderation writes events.
        votes = (
            select(
                func.count(),
                func.coalesce(func.sum(col(ConversationVote.vote)), 0),
                func.max(col(ConversationVote.updated_at)),
            )
            .join(Conversation, col(Conversation.id) == ConversationVote.conversation_id)
            .where(col(Conversation.organization_id) == org.id)
        )
        return "|".join(str(v) for v in (await session.exec(votes)).one())
    if dataset in ("budget-results", None):
        return today_in_rome().isoformat()
    return ""


async def validators(
    session: AsyncSession, org: Organization, dataset: str | None, *parts: str
) -> Validators:
    """The organization's events (count, last seq and time), the dataset's clock and the
    representation's `parts`, as a weak `ETag` and a `Last-Modified`."""
    count, last_seq, last_at = (
        await session.exec(
            select(func.count(), func.max(col(Event.seq)), func.max(col(Event.created_at))).where(
                col(Event.organization_id) == org.id
            )
        )
    ).one()
    clock = await _clock(session, org, dataset)
    key = "|".join([str(org.id), str(count), str(last_seq), clock, dataset or "", *parts])
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    modified = max(last_at or org.updated_at, org.updated_at)
    return Validators(etag=f'W/"{digest}"', last_modified=modified)


async def open_data_catalog(
    session: AsyncSession, slug: str, catalog_url: str, homepage: str, if_none_match: str | None
) -> tuple[Validators, bytes | None]:
    """The catalog (JSON-LD bytes), or None when `If-None-Match` names the current one."""
    org = await get_organization(session, slug)
    found = await validators(session, org, None, catalog_url, homepage, org.ipa_code or "")
    if found.matches(if_none_match):
        return found, None
    given = CatalogInput(
        org=org,
        catalog_url=catalog_url,
        homepage=homepage,
        modified=found.last_modified.astimezone(UTC).date(),
    )
    return found, catalog_jsonld(given)


async def open_data_download(
    session: AsyncSession,
    slug: str,
    dataset: str,
    fmt: Format,
    delimiter: Delimiter,
    if_none_match: str | None,
) -> Download:
    """A dataset as CSV or JSON Lines, streamed on `session` as it is sent (the request's
    transaction stays open until the body has been sent); 404 for an unknown
    organization or dataset."""
    org = await get_organization(session, slug)
    found = DATASETS.get(dataset)
    if found is None:
        raise NotFound(DATASET_NOT_FOUND)
    checked = await validators(session, org, dataset, fmt, delimiter)
    filename = f"{org.slug}-{dataset}.{fmt}"
    if checked.matches(if_none_match):
        return Download(checked, filename, MEDIA_TYPES[fmt], None)
    chunks = found.rows(session, org, Cells(fmt, delimiter))
    body = (
        encode_csv(found.columns, chunks, delimiter)
        if fmt == "csv"
        else encode_jsonl(found.columns, chunks)
    )
    return Download(checked, filename, MEDIA_TYPES[fmt], body)
