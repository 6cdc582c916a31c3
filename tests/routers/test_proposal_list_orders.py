"""The list orders that stay flat at a million proposals: the seeded random order over
the stored shuffle key, relevance bounded to the most recent matches, and keyset pages
reached by row-value cursors that equal the pages an offset would give."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from app.models.proposals import SHUFFLE_KEY_MAX
from app.pagination import encode_cursor
from app.services.proposals import proposal_search
from app.services.proposals.proposal_search import SHUFFLE_BLOCK_BITS, seed_blocks
from tests.factories import commit_setup, make_proposal, make_scene
from tests.helpers import assert_problem, bearer
from tests.routers.test_proposal_search import ids, walk


async def test_random_order_follows_the_seeded_ranges_of_stored_keys(client, session):
    s = await make_scene(session, content=False)
    proposals = [await make_proposal(session, s.table, s.member) for _ in range(40)]
    # Every proposal drew a key when it was inserted.
    drawn = (
        await session.exec(
            text("SELECT shuffle_key FROM proposals WHERE table_id = :t"), params={"t": s.table.id}
        )
    ).all()
    assert len(drawn) == 40 and all(0 <= k < SHUFFLE_KEY_MAX for (k,) in drawn)
    # Spread the keys over every range, deterministically, to check the order exactly.
    step = SHUFFLE_KEY_MAX // 40
    for n, p in enumerate(proposals):
        await session.exec(
            text("UPDATE proposals SET shuffle_key = :k WHERE id = :id"),
            params={"k": n * step + 7, "id": p.id},
        )
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals?sort=random"

    def expected(seed: str) -> list[str]:
        rank = {block: position for position, block in enumerate(seed_blocks(seed))}
        keyed = [(n * step + 7, p.id) for n, p in enumerate(proposals)]
        keyed.sort(key=lambda kp: (rank[kp[0] >> SHUFFLE_BLOCK_BITS], kp[0], kp[1]))
        return [str(i) for _, i in keyed]

    walked = await walk(client, f"{url}&seed=uno", 7)
    assert walked == expected("uno")
    assert len(set(walked)) == 40
    assert await walk(client, f"{url}&seed=uno", 40) == walked  # page size does not matter
    other = await walk(client, f"{url}&seed=due", 9)
    assert other == expected("due") and other != walked

    first = await client.get(f"{url}&limit=5")
    seed = first.json()["seed"]
    assert ids(first) == expected(seed)[:5]


async def test_random_cursor_outside_the_ranges_is_refused(client, session):
    s = await make_scene(session, content=False)
    await make_proposal(session, s.table, s.member)
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals?sort=random&seed=uno"
    for position in (-1, 16):
        cursor = encode_cursor(["random", "uno", position, 0, uuid.uuid4()])
        assert_problem(await client.get(f"{url}&cursor={cursor}"), 422, "invalid_cursor")
    old_style = encode_cursor(["random", "uno", "0f" * 16, uuid.uuid4()])  # md5 keys, before
    assert_problem(await client.get(f"{url}&cursor={old_style}"), 422, "invalid_cursor")


async def test_relevance_ranks_only_the_most_recent_matches(client, session, monkeypatch):
    monkeypatch.setattr(proposal_search, "RELEVANCE_CANDIDATES", 3)
    s = await make_scene(session, content=False)
    now = datetime.now(UTC)
    matches = [
        await make_proposal(
            session,
            s.table,
            s.member,
            title="Bicicletta per tutti" if n % 2 else "Mobilità sostenibile",
            body="Una bicicletta condivisa in ogni quartiere, con rastrelliere.",
            published_at=now - timedelta(hours=n),
        )
        for n in range(5)
    ]
    await make_proposal(session, s.table, s.member, title="Più alberi nei parchi")
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals"

    ranked = await walk(client, f"{url}?q=bicicletta", 2)
    assert sorted(ranked) == sorted(str(p.id) for p in matches[:3])  # the 3 most recent
    # Ranked: the one with the word in its title (weight A) first.
    assert ranked[0] == str(matches[1].id)
    # sort=recent with q reaches every match.
    assert await walk(client, f"{url}?q=bicicletta&sort=recent", 2) == [str(p.id) for p in matches]


async def test_deep_cursor_pages_equal_offset_pages_with_ties(client, session):
    s = await make_scene(session, content=False)
    now = datetime.now(UTC)
    for n in range(30):
        await make_proposal(
            session,
            s.table,
            s.member,
            supports_count=n % 3,
            comments_count=n % 2,
            published_at=now - timedelta(minutes=n // 4),  # ties on the date too
        )
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals"
    orders = {
        "supports": "supports_count DESC, id DESC",
        "comments": "comments_count DESC, id DESC",
        "recent": "coalesce(published_at, created_at) DESC, id DESC",
    }
    for sort, order in orders.items():
        offset_order = [
            str(i)
            for (i,) in (
                await session.exec(
                    text(f"SELECT id FROM proposals WHERE table_id = :t ORDER BY {order}"),
                    params={"t": s.table.id},
                )
            ).all()
        ]
        assert await walk(client, f"{url}?sort={sort}", 4) == offset_order, sort


async def test_every_sort_at_any_depth_takes_a_bounded_number_of_queries(
    client, session, query_counter
):
    s = await make_scene(session, content=False)
    for n in range(12):
        await make_proposal(
            session,
            s.table,
            s.member,
            title=("Bicicletta" if n % 2 else "Proposta") + f" numero {n}",
            supports_count=n % 3,
        )
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals"
    # caller, table context, page, one follow-up for the items (nodes, co-authors,
    # authors, the caller's supports, locks, budget projects); random: one more when a
    # page crosses into the next ranges of keys; q: one more, the SET LOCAL of the plan
    # mode.
    for query, most in (
        ("sort=recent", 4),
        ("sort=supports", 4),
        ("sort=comments", 4),
        ("sort=random&seed=uno", 5),
        ("q=bicicletta", 5),
    ):
        cursor, seen = None, []
        for _ in range(3):  # page 1, then two pages by cursor
            query_counter.reset()
            response = await client.get(
                f"{url}?{query}&limit=2" + (f"&cursor={cursor}" if cursor else ""),
                headers=bearer(s.member),
            )
            seen += ids(response)
            statements = [q for q in query_counter.statements if "SAVEPOINT" not in q]
            assert 4 <= len(statements) <= most, (query, len(statements))
            cursor = response.json()["next_cursor"]
        assert len(seen) == len(set(seen)) == 6, query
