"""The conversations' datasets: the visible statements of public tables with their vote
counts, and the anonymous vote matrix (a participant is a per-conversation pseudonym).
Rows come from `conversations/opendata.py`, streamed; here they take the catalog's cell
formats, `CHUNK_ROWS` at a time."""

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.organizations import Organization
from app.services.conversations.opendata import (
    conversation_statement_rows,
    conversation_vote_rows,
)
from app.services.open_data.cells import Cells
from app.services.open_data.tabular import CHUNK_ROWS, Chunks

STATEMENT_COLUMNS = (
    "conversation_id",
    "conversation_title",
    "table_id",
    "statement_id",
    "body",
    "created_at",
    "agree_count",
    "disagree_count",
    "pass_count",
)
VOTE_COLUMNS = ("conversation_id", "participant", "statement_id", "vote")

Source = Callable[[AsyncSession, uuid.UUID], AsyncIterator[dict[str, Any]]]


def _chunked(
    source: Source, columns: tuple[str, ...]
) -> Callable[[AsyncSession, Organization, Cells], Chunks]:
    async def rows(session: AsyncSession, org: Organization, cells: Cells) -> Chunks:
        chunk: list[list[Any]] = []
        async for row in source(session, org.id):
            chunk.append(cells.row(row[column] for column in columns))
            if len(chunk) >= CHUNK_ROWS:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    return rows


statement_rows = _chunked(conversation_statement_rows, STATEMENT_COLUMNS)
vote_rows = _chunked(conversation_vote_rows, VOTE_COLUMNS)
