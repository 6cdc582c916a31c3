"""Scale data for the benchmarks: `python -m bench.generate --scale small|large`.

Creates (or, with `--force`, re-creates) the database `consulta_bench_<scale>` on the
embedded PostgreSQL under `.data/pg` (or on `DATABASE_URL`'s server), runs the real
migrations, then fills it with `COPY` (asyncpg `copy_records_to_table`), reproducibly
from `--seed`:

* one organization (Città metropolitana di Bari) with its 41 comuni and a plan of
  4 axes x 3 missions x 3 objectives;
* `people` verified accounts, all with the password `bench-password-2026`; the first
  `RESERVED` of them (`bench-0@…` to `bench-255@…`) have no supports, comments or
  memberships, for the benchmark clients to act as;
* `tables` public open tables (a few private ones), table 0 is the hot one
  (`tavolo-giovani`, with `hot_proposals` proposals), the rest share the others with a
  Zipf-like skew;
* proposals with Italian titles and bodies (7 % about bicycles), 95 % published, 1 %
  hidden or pending, 1-2 plan nodes each; supports and comments with a heavy-tailed
  skew; `supports_count`/`comments_count` equal to the rows; events.

Secondary indexes are dropped during the load and rebuilt after it, foreign keys are not
checked row by row (`session_replication_role = replica`) — the generator writes
consistent rows — and everything is `VACUUM ANALYZE`d at the end.
"""

import argparse
import asyncio
import json
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import numpy as np

from app.cli import migrate
from app.db import to_async_url
from app.security import hash_password
from bench import textgen
from bench.benchdb import PASSWORD, SCALES, Scale, database_name, database_url, server_url

RESERVED = 256  # people kept free of generated activity, for the benchmark clients
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SPAN = 700 * 24 * 3600  # proposals span the last ~two years
CHUNK = 200_000
LOADED = [
    "users",
    "table_memberships",
    "proposals",
    "proposal_nodes",
    "proposal_supports",
    "comments",
    "events",
]


def log(message: str, started: float) -> None:
    print(f"[{time.monotonic() - started:7.1f}s] {message}", flush=True)


def uuids(rng: np.random.Generator, n: int) -> list[uuid.UUID]:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    blob = raw.tobytes()
    return [uuid.UUID(bytes=blob[i * 16 : i * 16 + 16]) for i in range(n)]


def stamps(seconds_before_now: Iterable[int]) -> list[datetime]:
    return [NOW - timedelta(seconds=s) for s in seconds_before_now]


def chunks(rows: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def copy(conn: asyncpg.Connection, table: str, columns: list[str], rows: Any) -> int:
    count = 0
    for chunk in chunks(rows):
        await conn.copy_records_to_table(table, records=chunk, columns=columns)
        count += len(chunk)
    return count


def skewed_counts(
    rng: np.random.Generator, weights: np.ndarray, total: int, cap: int
) -> np.ndarray:
    """`total` spread over the weights (multinomial), each at most `cap`."""
    counts = rng.multinomial(total, weights / weights.sum())
    excess = int(np.maximum(counts - cap, 0).sum())
    counts = np.minimum(counts, cap)
    while excess:
        room = counts < cap
        extra = rng.multinomial(excess, room / room.sum())
        counts = np.minimum(counts + extra, cap)
        excess = total - int(counts.sum())
    return counts


class Generator:
    def __init__(self, conn: asyncpg.Connection, scale: Scale, seed: int) -> None:
        self.conn, self.scale = conn, scale
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.started = time.monotonic()

    async def run(self) -> None:
        await self.conn.execute("SET session_replication_role = replica")
        dropped = await self.drop_indexes()
        await self.organization()
        await self.people()
        await self.tables_and_memberships()
        await self.proposals()
        await self.supports()
        await self.comments()
        await self.events()
        await self.conn.execute("SET session_replication_role = DEFAULT")
        await self.conn.execute("SET maintenance_work_mem = '1GB'")
        for name, definition in dropped:
            await self.conn.execute(definition)
            log(f"rebuilt {name}", self.started)

    async def drop_indexes(self) -> list[tuple[str, str]]:
        rows = await self.conn.fetch(
            """SELECT indexname, indexdef FROM pg_indexes i
               WHERE schemaname = 'public' AND tablename = ANY($1::text[])
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
            LOADED,
        )
        for row in rows:
            await self.conn.execute(f'DROP INDEX "{row["indexname"]}"')
        return [(r["indexname"], r["indexdef"]) for r in rows]

    async def organization(self) -> None:
        self.org_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        await self.conn.execute(
            """INSERT INTO organizations (id, slug, name, default_locale)
               VALUES ($1, 'cm-bari', 'Città metropolitana di Bari', 'it')""",
            self.org_id,
        )
        self.municipalities = uuids(self.np, len(textgen.COMUNI))
        await self.conn.copy_records_to_table(
            "municipalities",
            records=[
                (m, self.org_id, name, code)
                for m, (name, code) in zip(self.municipalities, textgen.COMUNI, strict=True)
            ],
            columns=["id", "organization_id", "name", "istat_code"],
        )
        self.plan_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        await self.conn.execute(
            """INSERT INTO plans (id, organization_id, slug, title, status, levels)
               VALUES ($1, $2, 'piano-strategico', '{"it": "Piano strategico metropolitano"}',
                       'consultation', '["axis", "mission", "objective"]')""",
            self.plan_id,
            self.org_id,
        )
        nodes: list[tuple[Any, ...]] = []
        self.axes: list[uuid.UUID] = []
        self.objectives: list[uuid.UUID] = []
        for a, axis in enumerate(textgen.AXES):
            axis_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
            self.axes.append(axis_id)
            nodes.append((axis_id, None, f"A{a + 1}", "axis", axis, a, 0, f"{a:04d}"))
            for m, mission in enumerate(textgen.MISSIONS):
                mission_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
                path = f"{a:04d}.{m:04d}"
                nodes.append(
                    (mission_id, axis_id, f"A{a + 1}.{m + 1}", "mission", mission, m, 1, path)
                )
                for o, objective in enumerate(textgen.OBJECTIVES):
                    objective_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
                    self.objectives.append(objective_id)
                    code = f"A{a + 1}.{m + 1}.{o + 1}"
                    nodes.append(
                        (
                            objective_id,
                            mission_id,
                            code,
                            "objective",
                            f"{objective} ({axis})",
                            o,
                            2,
                            f"{path}.{o:04d}",
                        )
                    )
        await self.conn.copy_records_to_table(
            "plan_nodes",
            records=[
                (i, self.plan_id, self.org_id, parent, code, kind, json.dumps({"it": t}), p, d, sp)
                for i, parent, code, kind, t, p, d, sp in nodes
            ],
            columns=[
                "id",
                "plan_id",
                "organization_id",
                "parent_id",
                "code",
                "kind",
                "title",
                "position",
                "depth",
                "sort_path",
            ],
        )
        log(f"organization, 41 comuni, plan of {len(nodes)} nodes", self.started)

    async def people(self) -> None:
        n = self.scale.people
        self.users = uuids(self.np, n)
        password_hash = hash_password(PASSWORD)
        births = self.np.integers(0, 365 * 60, size=n).tolist()
        joined = self.np.integers(SPAN // 2, SPAN * 2, size=n).tolist()
        home = self.np.integers(0, len(self.municipalities), size=n).tolist()
        rows = [
            (
                self.users[i],
                f"bench-{i}@bench.example.org",
                NOW - timedelta(seconds=joined[i] - 3600),
                password_hash,
                textgen.person_name(self.rng),
                date(2007, 1, 1) - timedelta(days=births[i]),
                self.municipalities[home[i]],
                NOW - timedelta(seconds=joined[i]),
                NOW - timedelta(seconds=joined[i]),
            )
            for i in range(n)
        ]
        columns = [
            "id",
            "email",
            "email_verified_at",
            "password_hash",
            "display_name",
            "birth_date",
            "municipality_id",
            "created_at",
            "updated_at",
        ]
        log(f"users: {await copy(self.conn, 'users', columns, rows)}", self.started)

    async def tables_and_memberships(self) -> None:
        s = self.scale
        self.tables = uuids(self.np, s.tables)
        rows = []
        for t, table_id in enumerate(self.tables):
            hot = t == 0
            slug = "tavolo-giovani" if hot else f"tavolo-{t}"
            name = (
                "Tavolo dei Talenti e delle Giovani Generazioni"
                if hot
                else f"Tavolo {t}: {self.rng.choice(textgen.AXES)}"
            )
            private = not hot and self.rng.random() < 0.1
            rows.append(
                (
                    table_id,
                    self.org_id,
                    slug,
                    json.dumps({"it": name}),
                    json.dumps({"it": f"Proposte per {name.lower()}"}),
                    self.plan_id,
                    "private" if private else "public",
                    "request" if private else "open",
                    "open",
                    NOW - timedelta(days=720),
                    NOW - timedelta(days=720),
                )
            )
        await self.conn.copy_records_to_table(
            "participation_tables",
            records=rows,
            columns=[
                "id",
                "organization_id",
                "slug",
                "name",
                "description",
                "plan_id",
                "visibility",
                "membership_policy",
                "status",
                "created_at",
                "updated_at",
            ],
        )
        pairs: set[tuple[int, int]] = set()
        members: list[tuple[Any, ...]] = []
        for t in range(s.tables):  # one facilitator per table
            u = self.rng.randrange(RESERVED, s.people)
            pairs.add((t, u))
            members.append((t, u, "facilitator"))
        while len(members) < s.memberships + s.tables:
            t = 0 if self.rng.random() < 0.5 else self.rng.randrange(s.tables)
            u = self.rng.randrange(RESERVED, s.people)
            if (t, u) not in pairs:
                pairs.add((t, u))
                members.append((t, u, "member"))
        ids = uuids(self.np, len(members))
        since = NOW - timedelta(days=600)
        member_rows = [
            (ids[i], self.tables[t], self.users[u], role, "active", since, since, since, since)
            for i, (t, u, role) in enumerate(members)
        ]
        columns = [
            "id",
            "table_id",
            "user_id",
            "role",
            "status",
            "activated_at",
            "created_at",
            "updated_at",
            "role_since",
        ]
        count = await copy(self.conn, "table_memberships", columns, member_rows)
        log(f"{s.tables} tables, memberships: {count}", self.started)

    async def proposals(self) -> None:
        s = self.scale
        n = s.proposals
        others = np.arange(1, s.tables)
        zipf = 1.0 / others**0.8
        rest = self.np.choice(others, size=n - s.hot_proposals, p=zipf / zipf.sum())
        table = np.concatenate([np.zeros(s.hot_proposals, dtype=np.int64), rest])
        self.np.shuffle(table)
        self.p_table = table
        self.p_ids = uuids(self.np, n)
        draw = self.np.random(n)
        status = np.where(draw < 0.02, 0, np.where(draw < 0.05, 2, 1))  # draft/published/withdrawn
        mod = self.np.random(n)
        moderation = np.where(mod < 0.007, 1, np.where(mod < 0.01, 2, 0))  # visible/hidden/pending
        self.p_live = status != 0
        weights = (self.np.pareto(1.5, n) + 0.05) * self.p_live
        self.p_supports = skewed_counts(
            self.np, weights, s.supports, s.people - RESERVED - 1
        ).astype(np.int64)
        cweights = (self.p_supports + 1.0) ** 0.8 * self.p_live
        self.p_comments = skewed_counts(self.np, cweights, s.comments, 10**9).astype(np.int64)
        age = self.np.integers(3600, SPAN, size=n)
        self.p_age = age
        authors = self.np.integers(RESERVED, s.people, size=n).tolist()
        places = self.np.integers(0, len(self.municipalities), size=n).tolist()
        answer = self.np.random(n)
        shuffle = await self.conn.fetchval(
            """SELECT count(*) FROM information_schema.columns
               WHERE table_name = 'proposals' AND column_name = 'shuffle_key'"""
        )
        keys = self.np.integers(0, 2**31, size=n).tolist()
        statuses, moderations = (
            ("draft", "published", "withdrawn"),
            ("visible", "hidden", "pending"),
        )
        states = ("evaluating", "accepted", "rejected", "implemented")
        tl, st, md, ag = table.tolist(), status.tolist(), moderation.tolist(), age.tolist()
        sc, cc, an = self.p_supports.tolist(), self.p_comments.tolist(), answer.tolist()
        rows = []
        for i in range(n):
            title, body = textgen.proposal_text(self.rng)
            created = NOW - timedelta(seconds=ag[i] + 600)
            published = None if st[i] == 0 else NOW - timedelta(seconds=ag[i])
            answered = st[i] != 0 and an[i] < 0.1
            row = (
                self.p_ids[i],
                self.tables[tl[i]],
                self.org_id,
                self.users[authors[i]],
                self.municipalities[places[i]],
                title,
                body,
                statuses[st[i]],
                states[int(an[i] * 40)] if answered else None,
                "Grazie, la valutiamo con gli uffici." if answered else None,
                NOW - timedelta(seconds=ag[i] // 2) if answered else None,
                sc[i],
                cc[i],
                published,
                NOW - timedelta(seconds=ag[i] // 3) if st[i] == 2 else None,
                created,
                published or created,
                moderations[md[i]],
            )
            rows.append((*row, keys[i]) if shuffle else row)
        columns = [
            "id",
            "table_id",
            "organization_id",
            "author_id",
            "municipality_id",
            "title",
            "body",
            "status",
            "answer_state",
            "answer_text",
            "answered_at",
            "supports_count",
            "comments_count",
            "published_at",
            "withdrawn_at",
            "created_at",
            "updated_at",
            "moderation_status",
        ] + (["shuffle_key"] if shuffle else [])
        log("proposal rows built", self.started)
        log(f"proposals: {await copy(self.conn, 'proposals', columns, rows)}", self.started)
        del rows
        objective = self.np.integers(0, len(self.objectives), size=n).tolist()
        second = self.np.random(n).tolist()
        links = []
        for i in range(n):
            links.append((self.p_ids[i], self.objectives[objective[i]]))
            if second[i] < 0.3:
                other = (objective[i] + 1 + int(second[i] * 100)) % len(self.objectives)
                links.append((self.p_ids[i], self.objectives[other]))
        count = await copy(self.conn, "proposal_nodes", ["proposal_id", "node_id"], links)
        log(f"proposal_nodes: {count}", self.started)

    async def supports(self) -> None:
        people = self.scale.people - RESERVED
        counts = self.p_supports
        total = int(counts.sum())
        owner = np.repeat(np.arange(len(counts)), counts)
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank = np.arange(total) - np.repeat(offsets, counts)
        start = self.np.integers(0, people, size=len(counts))
        primes = np.array([p for p in (7919, 104729, 1299709, 15485863) if people % p])
        stride = self.np.choice(primes, size=len(counts))
        user = RESERVED + (np.repeat(start, counts) + rank * np.repeat(stride, counts)) % people
        ago = (np.repeat(self.p_age, counts) * self.np.random(total)).astype(np.int64)
        p_ids, users, tables = self.p_ids, self.users, self.tables
        table_of = self.p_table
        written = 0
        columns = ["proposal_id", "user_id", "table_id", "created_at"]
        for lo in range(0, total, CHUNK):
            o = owner[lo : lo + CHUNK].tolist()
            u = user[lo : lo + CHUNK].tolist()
            a = ago[lo : lo + CHUNK].tolist()
            rows = [
                (p_ids[o[i]], users[u[i]], tables[table_of[o[i]]], NOW - timedelta(seconds=a[i]))
                for i in range(len(o))
            ]
            await self.conn.copy_records_to_table(
                "proposal_supports", records=rows, columns=columns
            )
            written += len(rows)
        log(f"supports: {written}", self.started)

    async def comments(self) -> None:
        counts = self.p_comments
        total = int(counts.sum())
        owner = np.repeat(np.arange(len(counts)), counts)
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        first = np.zeros(total, dtype=bool)
        first[offsets[counts > 0]] = True
        is_root = first | (self.np.random(total) < 0.7)
        index = np.arange(total)
        parent = np.maximum.accumulate(np.where(is_root, index, -1))
        ids = uuids(self.np, total)
        authors = self.np.integers(RESERVED, self.scale.people, size=total).tolist()
        ago = (np.repeat(self.p_age, counts) * self.np.random(total)).astype(np.int64).tolist()
        alignment = self.np.integers(0, 3, size=total).tolist()
        aligns = ("in_favor", "against", "neutral")
        o, roots, par = owner.tolist(), is_root.tolist(), parent.tolist()
        columns = [
            "id",
            "target_type",
            "target_id",
            "organization_id",
            "table_id",
            "author_id",
            "parent_id",
            "root_id",
            "depth",
            "alignment",
            "body",
            "created_at",
            "updated_at",
        ]
        written = 0
        for lo in range(0, total, CHUNK):
            rows = []
            for i in range(lo, min(total, lo + CHUNK)):
                at = NOW - timedelta(seconds=ago[i])
                root = roots[i]
                rows.append(
                    (
                        ids[i],
                        "proposal",
                        self.p_ids[o[i]],
                        self.org_id,
                        self.tables[self.p_table[o[i]]],
                        self.users[authors[i]],
                        None if root else ids[par[i]],
                        ids[i] if root else ids[par[i]],
                        0 if root else 1,
                        aligns[alignment[i]],
                        textgen.comment_text(self.rng),
                        at,
                        at,
                    )
                )
            await self.conn.copy_records_to_table("comments", records=rows, columns=columns)
            written += len(rows)
        self.comment_ids = ids
        log(f"comments: {written}", self.started)

    async def events(self) -> None:
        n = self.scale.events
        ids = uuids(self.np, n)
        kind = self.np.random(n).tolist()
        pick_p = self.np.integers(0, len(self.p_ids), size=n).tolist()
        pick_c = self.np.integers(0, len(self.comment_ids), size=n).tolist()
        actors = self.np.integers(RESERVED, self.scale.people, size=n).tolist()
        ago = np.sort(self.np.integers(0, SPAN, size=n))[::-1].tolist()
        rows = []
        for i in range(n):
            p = pick_p[i]
            payload = json.dumps({"table_id": str(self.tables[self.p_table[p]])})
            if kind[i] < 0.4:
                type_, subject_type, subject = "proposal.supported", "proposal", self.p_ids[p]
            elif kind[i] < 0.7:
                type_, subject_type = "comment.created", "comment"
                subject = self.comment_ids[pick_c[i]]
            elif kind[i] < 0.9:
                type_, subject_type, subject = "proposal.published", "proposal", self.p_ids[p]
            else:
                type_, subject_type, subject = "proposal.created", "proposal", self.p_ids[p]
            rows.append(
                (
                    ids[i],
                    i + 1,
                    self.org_id,
                    type_,
                    subject_type,
                    subject,
                    self.users[actors[i]],
                    payload,
                    NOW - timedelta(seconds=ago[i]),
                )
            )
        columns = [
            "id",
            "seq",
            "organization_id",
            "type",
            "subject_type",
            "subject_id",
            "actor_id",
            "payload",
            "created_at",
        ]
        log(f"events: {await copy(self.conn, 'events', columns, rows)}", self.started)
        await self.conn.execute("SELECT setval(pg_get_serial_sequence('events', 'seq'), $1)", n)


async def create_database(scale: str, force: bool) -> bool:
    """Create the scale's database; False when it exists and `force` is not set."""
    name = database_name(scale)
    conn = await asyncpg.connect(server_url())
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            if not force:
                return False
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return True


async def drop_database(scale: str) -> None:
    conn = await asyncpg.connect(server_url())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database_name(scale)}" WITH (FORCE)')
    finally:
        await conn.close()


async def fill(scale: Scale, seed: int) -> None:
    conn = await asyncpg.connect(database_url(scale.name))
    try:
        generator = Generator(conn, scale, seed)
        await generator.run()
        await conn.execute("VACUUM (ANALYZE)")
        log("vacuum analyze done", generator.started)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--force", action="store_true", help="drop and re-create the database")
    args = parser.parse_args()
    generate(args.scale, seed=args.seed, force=args.force)


def generate(scale: str, *, seed: int = 2026, force: bool = False) -> None:
    """Create and fill the scale's database unless it exists (`force`: re-create it)."""
    started = time.monotonic()
    if not asyncio.run(create_database(scale, force)):
        print(f"{database_name(scale)} exists (use --force to re-create it)")
        return
    url = database_url(scale)
    migrate(database_url=to_async_url(url))
    log(f"{database_name(scale)} created and migrated", started)
    try:
        asyncio.run(fill(SCALES[scale], seed))
    except BaseException:
        asyncio.run(drop_database(scale))  # never leave a half-filled database behind
        raise
    log(f"{database_name(scale)} ready", started)


if __name__ == "__main__":
    main()
