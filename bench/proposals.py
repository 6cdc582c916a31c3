"""What the benchmark scenarios act on, read from the generated database: the hot table,
the benchmark accounts (signed in through the API), proposals to support, read and
comment on, and cursors of deep pages.

Deep-page cursors are built with the app's own `encode_cursor` from the row found at
that depth by SQL (`OFFSET` here, in the benchmark, to find the row), in the list's
cursor format `[sort, seed, key, id]`; `check_cursor` proves, for each sort, that a
built cursor gives the page a walk through the API reaches.
"""

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import asyncpg

from app.pagination import encode_cursor
from bench.benchdb import PASSWORD
from bench.load import Connection

SORTS = ("recent", "supports", "comments", "random")
SEED = "bench"
VISIBLE = "status = 'published' AND moderation_status = 'visible'"
ORDER = {
    "recent": "coalesce(published_at, created_at) DESC, id DESC",
    "supports": "supports_count DESC, id DESC",
    "comments": "comments_count DESC, id DESC",
    "random_md5": "md5($3 || id::text), id",
}
KEY = {
    "recent": "coalesce(published_at, created_at)",
    "supports": "supports_count",
    "comments": "comments_count",
    "random_md5": "md5($3 || id::text)",
}


@dataclass
class Client:
    """One benchmark client: its account, tokens and the proposals it supports."""

    user_id: uuid.UUID
    email: str
    access: str = ""
    refresh: str = ""
    to_support: list[uuid.UUID] = field(default_factory=list)
    supported: list[uuid.UUID] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


@dataclass
class Targets:
    table_id: uuid.UUID
    organization_id: uuid.UUID
    proposals: int  # in the hot table, visible to the clients
    users: list[tuple[uuid.UUID, str]]  # the reserved accounts, in order
    supportable: list[uuid.UUID]
    read: list[uuid.UUID]
    thread: uuid.UUID  # the hot table's most commented proposal
    axis: uuid.UUID
    has_shuffle_key: bool


async def load_targets(url: str, supportable: int) -> Targets:
    conn = await asyncpg.connect(url)
    try:
        hot = await conn.fetchrow(
            "SELECT id, organization_id FROM participation_tables WHERE slug = 'tavolo-giovani'"
        )
        users = await conn.fetch(
            "SELECT id, email FROM users WHERE email LIKE 'bench-%@bench.example.org' "
            "AND split_part(substr(email, 7), '@', 1)::int < 256 "
            "ORDER BY split_part(substr(email, 7), '@', 1)::int"
        )
        count = await conn.fetchval(
            f"SELECT count(*) FROM proposals WHERE table_id = $1 AND {VISIBLE}",
            hot["id"],
        )
        supportable_ids = await conn.fetch(
            f"""SELECT id FROM proposals WHERE table_id = $1 AND {VISIBLE}
                AND answer_state IS DISTINCT FROM 'rejected' ORDER BY md5(id::text) LIMIT $2""",
            hot["id"],
            supportable,
        )
        read = await conn.fetch(
            f"SELECT id FROM proposals WHERE table_id = $1 AND {VISIBLE} "
            "ORDER BY md5('read' || id::text) LIMIT 1000",
            hot["id"],
        )
        thread = await conn.fetchval(
            f"SELECT id FROM proposals WHERE table_id = $1 AND {VISIBLE} "
            "ORDER BY comments_count DESC LIMIT 1",
            hot["id"],
        )
        axis = await conn.fetchval("SELECT id FROM plan_nodes WHERE code = 'A2'")
        shuffle = await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'proposals' AND column_name = 'shuffle_key'"
        )
    finally:
        await conn.close()
    return Targets(
        table_id=hot["id"],
        organization_id=hot["organization_id"],
        proposals=int(count),
        users=[(r["id"], r["email"]) for r in users],
        supportable=[r["id"] for r in supportable_ids],
        read=[r["id"] for r in read],
        thread=thread,
        axis=axis,
        has_shuffle_key=bool(shuffle),
    )


async def sign_in(conn: Connection, client: Client) -> None:
    status, body = await conn.request(
        "POST",
        "/v1/auth/token",
        body=urlencode(
            {"grant_type": "password", "username": client.email, "password": PASSWORD}
        ).encode(),
        content_type="application/x-www-form-urlencoded",
    )
    if status != 200:
        raise SystemExit(f"sign-in of {client.email} failed: {status} {body[:200]!r}")
    tokens = json.loads(body)
    client.access, client.refresh = tokens["access_token"], tokens["refresh_token"]


async def refresh(conn: Connection, client: Client) -> int:
    status, body = await conn.request(
        "POST",
        "/v1/auth/token",
        body=urlencode({"grant_type": "refresh_token", "refresh_token": client.refresh}).encode(),
        content_type="application/x-www-form-urlencoded",
    )
    if status == 200:
        tokens = json.loads(body)
        client.access, client.refresh = tokens["access_token"], tokens["refresh_token"]
    return status


def list_path(table_id: uuid.UUID, **query: Any) -> str:
    return f"/v1/tables/{table_id}/proposals?{urlencode({'limit': 20, **query})}"


async def deep_cursor(url: str, targets: Targets, sort: str, depth: int) -> str | None:
    """The cursor that a walk through `sort` has after `depth` rows (None: page 1)."""
    if depth == 0:
        return None
    conn = await asyncpg.connect(url)
    try:
        if sort == "random" and targets.has_shuffle_key:
            return await _shuffled_cursor(conn, targets, depth)
        name = "random_md5" if sort == "random" else sort
        row = await conn.fetchrow(
            f"SELECT {KEY[name]} AS k, id FROM proposals "
            f"WHERE table_id = $1 AND {VISIBLE} ORDER BY {ORDER[name]} OFFSET $2 LIMIT 1",
            targets.table_id,
            depth - 1,
            *([SEED] if sort == "random" else []),
        )
    finally:
        await conn.close()
    if row is None:
        return None
    return encode_cursor([sort, SEED if sort == "random" else None, row["k"], row["id"]])


async def _shuffled_cursor(conn: asyncpg.Connection, targets: Targets, depth: int) -> str | None:
    """The same for the stored shuffle key (see `seed_blocks` in proposal_search)."""
    from app.services.proposals.proposal_search import SHUFFLE_BLOCK_BITS, seed_blocks

    blocks = seed_blocks(SEED)
    row = await conn.fetchrow(
        "SELECT array_position($3::int[], shuffle_key >> $4) - 1 AS block, "
        "shuffle_key AS k, id FROM proposals "
        f"WHERE table_id = $1 AND {VISIBLE} "
        "ORDER BY array_position($3::int[], shuffle_key >> $4), shuffle_key, id "
        "OFFSET $2 LIMIT 1",
        targets.table_id,
        depth - 1,
        blocks,
        SHUFFLE_BLOCK_BITS,
    )
    if row is None:
        return None
    return encode_cursor(["random", SEED, row["block"], row["k"], row["id"]])


async def check_cursor(conn: Connection, url: str, targets: Targets, sort: str) -> bool:
    """A built cursor at depth 100 gives the page that a walk of one 100-item page does."""
    query: dict[str, Any] = {"sort": sort, **({"seed": SEED} if sort == "random" else {})}
    status, body = await conn.request("GET", list_path(targets.table_id, **query, limit=100))
    walked = json.loads(body)["next_cursor"] if status == 200 else None
    built = await deep_cursor(url, targets, sort, 100)
    if walked is None or built is None:
        return False
    pages = []
    for cursor in (walked, built):
        status, body = await conn.request(
            "GET", list_path(targets.table_id, **query, cursor=cursor)
        )
        pages.append([p["id"] for p in json.loads(body)["items"]] if status == 200 else None)
    return pages[0] is not None and pages[0] == pages[1]
