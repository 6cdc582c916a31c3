"""Lists, full-text search and likely duplicates of a table's proposals.

**Filters.** `node` (the node and all its descendants, by a recursive CTE over
`plan_nodes.parent_id`), `municipality`, `author` (author or co-author; `me` for the
caller), `q` (full text, Italian stemming: `websearch_to_tsquery('italian', q)` against
the stored `search_vector`) and `status`, whose values match either the lifecycle or the
answer: `draft` (the caller's own drafts only), `published`, `withdrawn` (lifecycle), or
`evaluating | accepted | rejected | implemented` (answer of a published proposal).
Several values are OR-ed; without any, the list shows published proposals.

**Sorts and keyset cursors.** Every order ends with `id`, so it is total:

* `supports`: (supports_count DESC, id DESC) — refused (422) to participants when the
  table hides supports, as the order would reveal them;
* `comments`: (comments_count DESC, id DESC);
* `recent`: (coalesce(published_at, created_at) DESC, id DESC) — the default;
* `random`: a seeded shuffle, the same on every page; without a `seed` one is
  generated and returned in the response's `seed`. Every proposal draws a random
  `shuffle_key` in [0, 2^31) once, at insert; the key space is cut into 16 ranges and
  the seed (`seed_blocks`) picks the order in which the ranges are visited, each range
  in key order. A page is one index range scan over `(table_id, shuffle_key, id)` —
  plus, when the page crosses into the next ranges, one UNION ALL of a range scan per
  range still ahead, each with a LIMIT — so no page sorts the table. Key (range
  position, shuffle_key, id). Different seeds give different orders (16! range orders),
  though within a range the order is the same for every seed;
* with `q` and no explicit sort: relevance, (ts_rank DESC, id DESC), **bounded**: only
  the `RELEVANCE_CANDIDATES` (500) most recent matches (by publication, as
  `sort=recent`) are ranked, so the cost of a search does not grow with the number of
  matches; older matches are reached with `sort=recent&q=…`, which walks all of them.

The cursor carries the sort, the seed and the last row's key; a cursor of another sort
or seed is a 422 `invalid_cursor`. Inserted proposals never produce duplicates (a row is
either before or after the cursor's key, once). Keys on counters are a trade-off: when a
proposal's count changes between two page requests it moves in the order, so it may be
shown twice or not at all in that one walk — exactness would need a snapshot per walk.

**Similar proposals.** Published proposals of the same table that the caller may see
(`proposal_visibility`: hidden and pending ones only for their authors and moderators)
sharing stemmed words
(an OR of the source's lexemes, through the GIN index) or with a similar title
(`consulta_trigram_similarity`, a pg_trgm-style trigram similarity written in SQL by the
migration, since the embedded PostgreSQL has no pg_trgm). Score: 0.6 * title trigram
similarity + 0.4 * word overlap (Jaccard of the two lexeme sets); at least 0.25.
"""

import hashlib
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Unauthorized, Unprocessable
from app.models.accounts import User
from app.models.plans import PlanNode
from app.models.proposals import (
    ANSWER_STATES,
    SEARCH_VECTOR,
    SHUFFLE_KEY,
    SHUFFLE_KEY_MAX,
    Proposal,
    ProposalCoauthor,
    ProposalNode,
    ProposalPage,
)
from app.models.tables import ParticipationTable
from app.pagination import PageParams, SortKey, after_key, decode_cursor, encode_cursor, order_by
from app.services.access.content import reusable_proposal_visibility
from app.services.access.standing import table_context
from app.services.access.statements import actor_params
from app.services.proposals.responses import proposals_public
from app.services.validation import field_error

# The text-search configuration of proposals (Italian stemming and stop words).
ITALIAN: Any = literal_column("'italian'::regconfig")
# Relevance ranks this many of the most recent matches (see the module's docstring).
RELEVANCE_CANDIDATES = 500
# The seeded random order: the shuffle keys' range is cut into 2^4 ranges.
SHUFFLE_BLOCKS = 16
SHUFFLE_BLOCK_BITS = (SHUFFLE_KEY_MAX // SHUFFLE_BLOCKS).bit_length() - 1


@dataclass(frozen=True)
class ProposalFilters:
    node: uuid.UUID | None = None
    municipality: uuid.UUID | None = None
    statuses: Sequence[str] = field(default_factory=tuple)
    author: str | None = None  # a user id, or "me"
    q: str | None = None
    sort: str | None = None
    seed: str | None = None


def _invalid_cursor() -> Unprocessable:
    return Unprocessable(
        "The cursor is not valid for this list; start again without it.",
        code=ErrorCode.INVALID_CURSOR,
        errors=[field_error(["query", "cursor"], "invalid cursor", ErrorCode.INVALID_CURSOR)],
    )


def node_and_descendants(node_id: uuid.UUID) -> Any:
    """A subquery of the node's id and the ids of every node below it."""
    tree = select(PlanNode.id).where(col(PlanNode.id) == node_id).cte("node_tree", recursive=True)
    tree = tree.union(select(PlanNode.id).where(col(PlanNode.parent_id) == tree.c.id))
    return select(tree.c.id)


def _status_clause(statuses: Sequence[str], actor: User | None) -> ColumnElement[bool]:
    if not statuses:
        return col(Proposal.status) == "published"
    clauses: list[ColumnElement[bool]] = []
    for value in dict.fromkeys(statuses):
        if value == "draft":
            clauses.append(
                and_(col(Proposal.status) == "draft", col(Proposal.author_id) == actor.id)
                if actor is not None
                else false()
            )
        elif value in ANSWER_STATES:
            clauses.append(
                and_(col(Proposal.status) == "published", col(Proposal.answer_state) == value)
            )
        else:
            clauses.append(col(Proposal.status) == value)
    return or_(*clauses)


def _author_clause(author: str, actor: User | None) -> ColumnElement[bool]:
    if author == "me":
        if actor is None:
            raise Unauthorized("Sign in to list your own proposals.", error="invalid_request")
        user_id = actor.id
    else:
        try:
            user_id = uuid.UUID(author)
        except ValueError as exc:
            raise Unprocessable(
                "author is a user id or `me`.",
                code=ErrorCode.VALIDATION_ERROR,
                errors=[
                    field_error(["query", "author"], "a user id or `me`", ErrorCode.INVALID_FORMAT)
                ],
            ) from exc
    return or_(
        col(Proposal.author_id) == user_id,
        exists().where(
            col(ProposalCoauthor.proposal_id) == Proposal.id,
            col(ProposalCoauthor.user_id) == user_id,
        ),
    )


def seed_blocks(seed: str) -> list[int]:
    """The order in which the seeded random order visits the ranges of shuffle keys."""
    return sorted(
        range(SHUFFLE_BLOCKS), key=lambda b: hashlib.sha256(f"{seed}:{b}".encode()).digest()
    )


async def _random_page(
    session: AsyncSession,
    listed: Callable[..., Any],
    seed: str,
    after: Sequence[Any] | None,
    limit: int,
    bound: dict[str, Any],
) -> tuple[list[Proposal], list[Any] | None]:
    """One page of the seeded random order of the `listed` proposals and the key of its
    last row when there are more. At most two statements: the range of keys the page
    starts in (one index range scan), then, only if that range ran out, one UNION ALL of
    a range scan per range still ahead, each stopping after the rows still needed."""
    blocks, keys = seed_blocks(seed), _sort_keys("random", seed, None)
    start = 0 if after is None else after[0]
    if start not in range(SHUFFLE_BLOCKS):
        raise _invalid_cursor()
    width = 1 << SHUFFLE_BLOCK_BITS

    def branch(position: int, need: int) -> Any:
        low = blocks[position] * width
        stmt = listed(
            Proposal,
            literal(position, Integer).label("shuffle_position"),
            SHUFFLE_KEY.label("shuffle_key"),
        ).where(SHUFFLE_KEY.between(low, low + width - 1))  # ≤ 2^31 - 1: an integer
        if after is not None and position == start:
            stmt = stmt.where(after_key(keys[1:], after[1:]))
        return stmt.order_by(SHUFFLE_KEY, col(Proposal.id)).limit(need)

    rows = list((await session.exec(branch(start, limit + 1), params=bound)).all())
    need = limit + 1 - len(rows)
    if need > 0 and start + 1 < SHUFFLE_BLOCKS:
        ahead = range(start + 1, SHUFFLE_BLOCKS)
        walk = union_all(*(branch(p, need) for p in ahead)).subquery("shuffled")
        stmt = (
            select(aliased(Proposal, walk), walk.c.shuffle_position, walk.c.shuffle_key)
            .order_by(walk.c.shuffle_position, walk.c.shuffle_key, walk.c.id)
            .limit(need)
        )
        rows += list((await session.exec(stmt, params=bound)).all())
    if len(rows) <= limit:
        return [row[0] for row in rows], None
    last = rows[limit - 1]
    return [row[0] for row in rows[:limit]], [last[1], last[2], last[0].id]


def _sort_keys(sort: str, seed: str | None, tsquery: Any) -> list[SortKey]:
    last_desc = SortKey(Proposal.id, descending=True, kind=uuid.UUID)
    if sort == "supports":
        return [SortKey(Proposal.supports_count, descending=True, kind=int), last_desc]
    if sort == "comments":
        return [SortKey(Proposal.comments_count, descending=True, kind=int), last_desc]
    if sort == "random":  # (range position, shuffle key, id): see `_random_page`
        return [
            SortKey(None, kind=int),
            SortKey(SHUFFLE_KEY, kind=int),
            SortKey(Proposal.id, kind=uuid.UUID),
        ]
    if sort == "relevance":
        return [
            SortKey(func.ts_rank(SEARCH_VECTOR, tsquery), descending=True, kind=float),
            last_desc,
        ]
    listed_at = func.coalesce(Proposal.published_at, Proposal.created_at)
    return [SortKey(listed_at, descending=True, kind=datetime), last_desc]


async def list_proposals(
    session: AsyncSession,
    actor: User | None,
    table_id: uuid.UUID,
    filters: ProposalFilters,
    params: PageParams,
) -> ProposalPage:
    """A page of the table's proposals; a constant number of queries per page."""
    ctx = await table_context(session, actor, table_id)
    q = (filters.q or "").strip() or None
    sort = filters.sort or ("relevance" if q else "recent")
    if sort == "supports" and not ctx.counts_visible:
        raise Unprocessable(
            "This table hides supports, so proposals cannot be sorted by them.",
            code=ErrorCode.SORT_UNAVAILABLE,
            errors=[
                field_error(
                    ["query", "sort"], "supports are hidden here", ErrorCode.SORT_UNAVAILABLE
                )
            ],
        )
    seed = filters.seed
    cursor_values: list[Any] | None = None
    if params.cursor:
        head = [SortKey(None, kind=str), SortKey(None, kind=str, nullable=True)]
        keys_for_decoding = _sort_keys(sort, seed or "-", None)
        decoded = decode_cursor(params.cursor, [*head, *keys_for_decoding])
        if decoded[0] != sort or (seed is not None and decoded[1] != seed):
            raise _invalid_cursor()
        seed = decoded[1]
        cursor_values = decoded[2:]
    if sort == "random" and seed is None:
        seed = secrets.token_hex(8)
    if sort != "random":
        seed = None
    tsquery = func.websearch_to_tsquery(ITALIAN, q) if q else None
    keys = _sort_keys(sort, seed, tsquery)

    where: list[Any] = [
        col(Proposal.table_id) == ctx.table.id,
        *reusable_proposal_visibility(actor),  # runs with actor_params(actor)
        _status_clause(filters.statuses, actor),
    ]
    if filters.node is not None:
        where.append(
            exists().where(
                col(ProposalNode.proposal_id) == Proposal.id,
                col(ProposalNode.node_id).in_(node_and_descendants(filters.node)),
            )
        )
    if filters.municipality is not None:
        where.append(col(Proposal.municipality_id) == filters.municipality)
    if filters.author is not None:
        where.append(_author_clause(filters.author, actor))
    if tsquery is not None:
        where.append(SEARCH_VECTOR.op("@@")(tsquery))
        # A generic plan (chosen by PostgreSQL after five runs of a prepared statement)
        # knows neither the table nor the words: it scans every match through the GIN
        # index (~600 ms on a 500 000-proposal table) where the plan for the actual values
        # walks the recent index (~35 ms). Plan this request's statements for their values.
        connection = await session.connection()
        await connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")

    def listed(*columns: Any) -> Any:
        """The listed proposals (and `columns`), with every filter applied."""
        return (
            select(*columns)
            .join(ParticipationTable, col(ParticipationTable.id) == Proposal.table_id)
            .where(*where)
        )

    bound = actor_params(actor)  # the visibility's `actor_id`
    if sort == "random":
        assert seed is not None
        proposals, last = await _random_page(
            session, listed, seed, cursor_values, params.limit, bound
        )
    else:
        proposals, last = await _keyset_page(
            session, listed, sort, keys, cursor_values, params, bound
        )
    next_cursor = None if last is None else encode_cursor([sort, seed, *last])
    items = await proposals_public(session, actor, ctx, proposals)
    return ProposalPage(items=items, next_cursor=next_cursor, seed=seed)


async def _keyset_page(
    session: AsyncSession,
    listed: Callable[..., Any],
    sort: str,
    keys: list[SortKey],
    after: list[Any] | None,
    params: PageParams,
    bound: dict[str, Any],
) -> tuple[list[Proposal], list[Any] | None]:
    stmt = listed(Proposal, keys[0].column)
    if sort == "relevance":  # rank only the most recent matches (the documented bound)
        listed_at = func.coalesce(Proposal.published_at, Proposal.created_at)
        candidates = (
            listed(col(Proposal.id))
            .order_by(listed_at.desc(), col(Proposal.id).desc())
            .limit(RELEVANCE_CANDIDATES)
        )
        stmt = stmt.where(col(Proposal.id).in_(candidates.scalar_subquery()))
    if after is not None:
        stmt = stmt.where(after_key(keys, after))
    stmt = stmt.order_by(*order_by(keys)).limit(params.limit + 1)
    rows = list((await session.exec(stmt, params=bound)).all())
    if len(rows) <= params.limit:
        return [row[0] for row in rows], None
    last_proposal, last_key = rows[params.limit - 1]
    return [row[0] for row in rows[: params.limit]], [last_key, last_proposal.id]


# --- similar proposals --------------------------------------------------------------
