"""Listing proposals: filters, Italian full-text search, every sort with keyset cursors
(stable while proposals are inserted), bounded queries, and similar proposals."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app.models.proposals import Proposal, ProposalCoauthor, ProposalSupport
from tests.factories import (
    add_member,
    commit_setup,
    make_municipality,
    make_proposal,
    make_scene,
    make_user,
)
from tests.helpers import assert_problem, bearer


def ids(response):
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["items"]]


async def walk(client, url, limit, between_pages=None, headers=None):
    """Every id of a list, page after page; `between_pages()` runs before each next page."""
    seen, cursor = [], None
    while True:
        sep = "&" if "?" in url else "?"
        page_url = f"{url}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(page_url, headers=headers or {})
        seen += ids(response)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return seen
        if between_pages is not None:
            await between_pages()


async def test_italian_stemming_finds_other_forms_of_a_word(client, session):
    s = await make_scene(session, content=False)
    bikes = await make_proposal(
        session,
        s.table,
        s.member,
        title="Più biciclette condivise alle stazioni",
        body="Servono rastrelliere e noleggio di biciclette vicino ai treni.",
    )
    in_body = await make_proposal(
        session,
        s.table,
        s.member,
        title="Mobilità per gli studenti",
        body="Abbonamenti ridotti e una bicicletta in prestito.",
    )
    await make_proposal(
        session,
        s.table,
        s.member,
        title="Biblioteche aperte la sera",
        body="Sale studio aperte fino a mezzanotte nei comuni.",
    )
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals"
    # "bicicletta" finds "biciclette"; the title match ranks first.
    assert ids(await client.get(f"{url}?q=bicicletta")) == [str(bikes.id), str(in_body.id)]
    assert ids(await client.get(f"{url}?q=stazione")) == [str(bikes.id)]
    assert ids(await client.get(f"{url}?q=biciclette -treni")) == [str(in_body.id)]
    assert ids(await client.get(f"{url}?q=monopattini")) == []
    # An explicit sort overrides relevance.
    recent = ids(await client.get(f"{url}?q=bicicletta&sort=recent"))
    assert recent == [str(in_body.id), str(bikes.id)]


async def test_filters_by_node_with_descendants_municipality_status_and_author(client, session):
    s = await make_scene(session, content=False)
    bari = await make_municipality(session, s.org, "Bari")
    other = await make_user(session)
    await add_member(session, s.table, other)
    on_axis = await make_proposal(session, s.table, s.member, node_ids=[s.nodes["4"].id])
    on_child = await make_proposal(
        session, s.table, other, node_ids=[s.nodes["4.1"].id], municipality_id=bari.id
    )
    elsewhere = await make_proposal(
        session,
        s.table,
        other,
        node_ids=[s.nodes["1"].id],
        answer_state="accepted",
        answer_text="Sì.",
        answered_at=datetime.now(UTC),
    )
    session.add(ProposalCoauthor(proposal_id=elsewhere.id, user_id=s.member.id))
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals"
    assert set(ids(await client.get(f"{url}?node={s.nodes['4'].id}"))) == {
        str(on_axis.id),
        str(on_child.id),
    }
    assert ids(await client.get(f"{url}?node={s.nodes['4.1'].id}")) == [str(on_child.id)]
    assert ids(await client.get(f"{url}?municipality={bari.id}")) == [str(on_child.id)]
    assert ids(await client.get(f"{url}?status=accepted")) == [str(elsewhere.id)]
    assert set(ids(await client.get(f"{url}?status=accepted&status=published"))) == {
        str(on_axis.id),
        str(on_child.id),
        str(elsewhere.id),
    }
    assert ids(await client.get(f"{url}?status=rejected")) == []
    # The author filter covers co-authorship; `me` is the caller.
    assert set(ids(await client.get(f"{url}?author={s.member.id}"))) == {
        str(on_axis.id),
        str(elsewhere.id),
    }
    assert set(ids(await client.get(f"{url}?author=me", headers=bearer(other)))) == {
        str(on_child.id),
        str(elsewhere.id),
    }
    assert_problem(await client.get(f"{url}?author=me"), 401)
    assert_problem(await client.get(f"{url}?author=nobody"), 422)
    assert_problem(await client.get(f"{url}?status=lost"), 422)


async def test_sorts_by_supports_comments_recent_and_seeded_random(client, session):
    s = await make_scene(session, content=False)
    now = datetime.now(UTC)
    proposals = [
        await make_proposal(
            session,
            s.table,
            s.member,
            supports_count=n % 4,
            comments_count=(n * 7) % 5,
            published_at=now - timedelta(minutes=n),
        )
        for n in range(12)
    ]
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals"
    by_supports = await walk(client, f"{url}?sort=supports", 5)
    expected = sorted(proposals, key=lambda p: (p.supports_count, p.id), reverse=True)
    assert by_supports == [str(p.id) for p in expected]
    by_comments = await walk(client, f"{url}?sort=comments", 5)
    expected = sorted(proposals, key=lambda p: (p.comments_count, p.id), reverse=True)
    assert by_comments == [str(p.id) for p in expected]
    assert await walk(client, url, 5) == [str(p.id) for p in proposals]  # recent, default

    first = await client.get(f"{url}?sort=random&limit=5")
    seed = first.json()["seed"]
    assert seed
    shuffled = await walk(client, f"{url}?sort=random&seed={seed}", 5)
    assert shuffled[:5] == ids(first)
    assert sorted(shuffled) == sorted(str(p.id) for p in proposals)
    assert await walk(client, f"{url}?sort=random&seed={seed}", 3) == shuffled
    assert await walk(client, f"{url}?sort=random&seed=altro", 4) != shuffled
    # The cursor keeps the seed, and belongs to its sort.
    cursor = first.json()["next_cursor"]
    assert ids(await client.get(f"{url}?sort=random&limit=5&cursor={cursor}")) == shuffled[5:10]
    assert_problem(await client.get(f"{url}?sort=supports&cursor={cursor}"), 422, "invalid_cursor")
    assert_problem(
        await client.get(f"{url}?sort=random&seed=altro&cursor={cursor}"), 422, "invalid_cursor"
    )
    assert_problem(await client.get(f"{url}?cursor=not-a-cursor"), 422, "invalid_cursor")


async def test_paging_while_proposals_are_inserted_never_repeats_an_item(client, session):
    s = await make_scene(session, content=False)
    originals = [
        await make_proposal(
            session,
            s.table,
            s.member,
            supports_count=n % 3,
            comments_count=n % 2,
            published_at=datetime.now(UTC) - timedelta(hours=n),
        )
        for n in range(10)
    ]
    await commit_setup(session)
    inserted: list[Proposal] = []

    async def insert_two():
        for _ in range(2):
            inserted.append(
                await make_proposal(session, s.table, s.member, supports_count=len(inserted) % 3)
            )
        await commit_setup(session)

    url = f"/v1/tables/{s.table.id}/proposals"
    for query in (
        "sort=supports",
        "sort=comments",
        "sort=recent",
        "sort=random&seed=abc",
        "q=proposta",
    ):
        seen = await walk(client, f"{url}?{query}", 3, between_pages=insert_two)
        assert len(seen) == len(set(seen)), query
        assert {str(p.id) for p in originals} <= set(seen), query
    assert len(inserted) >= 15


async def test_listing_takes_the_same_number_of_queries_for_any_page_size(
    client, session, query_counter
):
    s = await make_scene(session, content=False)
    people = [await make_user(session) for _ in range(3)]
    for person in people:
        await add_member(session, s.table, person)
    for n in range(30):
        proposal = await make_proposal(
            session, s.table, people[n % 3], node_ids=[s.nodes["1"].id, s.nodes["4"].id]
        )
        session.add(ProposalCoauthor(proposal_id=proposal.id, user_id=people[(n + 1) % 3].id))
        session.add(
            ProposalSupport(proposal_id=proposal.id, user_id=s.member.id, table_id=s.table.id)
        )
    await commit_setup(session)
    counts = []
    for limit in (2, 30):
        query_counter.reset()
        response = await client.get(
            f"/v1/tables/{s.table.id}/proposals?limit={limit}", headers=bearer(s.member)
        )
        assert len(response.json()["items"]) == limit
        assert all(
            p["supported_by_me"] and len(p["node_ids"]) == 2 and len(p["coauthors"]) == 1
            for p in response.json()["items"]
        )
        counts.append(len([q for q in query_counter.statements if "SAVEPOINT" not in q]))
    # caller, table+settings+standing, page, then one statement for the page's nodes,
    # co-authors, authors, my supports, locked discussions, budget projects they became
    assert counts == [4, 4]


async def _similar_setup(session):
    s = await make_scene(session, content=False)
    source = await make_proposal(
        session,
        s.table,
        s.member,
        title="Piste ciclabili sicure tra i quartieri di Bari",
        body="Realizzare una rete di piste ciclabili protette che colleghi i quartieri "
        "periferici al centro e alle scuole.",
    )
    duplicate = await make_proposal(
        session,
        s.table,
        s.member,
        title="Più piste ciclabili nei quartieri",
        body="Chiediamo nuove piste ciclabili protette per collegare i quartieri e le scuole.",
    )
    misspelt = await make_proposal(
        session,
        s.table,
        s.member,
        title="Pist ciclabil sicur tra i quartier",
        body="Come da titolo.",
    )
    unrelated = await make_proposal(
        session,
        s.table,
        s.member,
        title="Biblioteche aperte la sera",
        body="Aprire le biblioteche comunali fino a mezzanotte per chi studia.",
    )
    draft = await make_proposal(
        session,
        s.table,
        s.member,
        status="draft",
        title="Piste ciclabili sicure nei quartieri",
        body="Una rete di piste ciclabili protette tra i quartieri e le scuole.",
    )
    withdrawn = await make_proposal(
        session,
        s.table,
        s.member,
        status="withdrawn",
        title="Piste ciclabili nei quartieri",
        body="Una rete di piste ciclabili protette tra i quartieri e le scuole.",
    )
    return s, source, duplicate, misspelt, unrelated, draft, withdrawn


async def test_similar_proposals_are_found_by_words_and_by_title(client, session):
    _, source, duplicate, misspelt, unrelated, draft, withdrawn = await _similar_setup(session)
    await commit_setup(session)
    response = await client.get(f"/v1/proposals/{source.id}/similar")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    found = [p["id"] for p in items]
    assert set(found) == {str(duplicate.id), str(misspelt.id)}, items
    assert all(0 < p["similarity"] <= 1 for p in items)
    assert items == sorted(items, key=lambda p: -p["similarity"])
    for hidden in (source, unrelated, draft, withdrawn):
        assert str(hidden.id) not in found
    unrelated_similar = await client.get(f"/v1/proposals/{unrelated.id}/similar")
    assert unrelated_similar.json()["items"] == []


async def test_create_can_check_for_similar_proposals_first(client, session):
    s, source, duplicate, *_ = await _similar_setup(session)
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals?check_similar=true"
    body = {
        "title": "Nuove piste ciclabili sicure nei quartieri",
        "body": "Una rete di ciclabili protette tra quartieri periferici e scuole.",
        "node_ids": [str(s.nodes["1"].id)],
    }
    before = len((await session.exec(select(Proposal))).all())
    response = await client.post(url, json=body, headers=bearer(s.member))
    assert response.status_code == 200, response.text
    similar = [p["id"] for p in response.json()["similar"]]
    assert str(source.id) in similar and str(duplicate.id) in similar
    assert len((await session.exec(select(Proposal))).all()) == before
    fresh = {
        "title": "Orti urbani sui tetti delle scuole",
        "body": "Coltivare ortaggi sui tetti piani degli istituti superiori.",
        "node_ids": [str(s.nodes["9"].id)],
    }
    created = await client.post(url, json=fresh, headers=bearer(s.member))
    assert created.status_code == 201, created.text
    assert uuid.UUID(created.json()["id"])
    # Without the check, the similar proposal is created anyway.
    forced = await client.post(
        f"/v1/tables/{s.table.id}/proposals", json=body, headers=bearer(s.member)
    )
    assert forced.status_code == 201


async def test_similar_to_a_draft_answers_one_shape_and_creates_nothing(client, session):
    s, source, duplicate, *_ = await _similar_setup(session)
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals/similar"
    before = len((await session.exec(select(Proposal))).all())
    draft = {
        "title": "Nuove piste ciclabili sicure nei quartieri",
        "body": "Una rete di ciclabili protette tra quartieri periferici e scuole.",
    }
    response = await client.post(url, json=draft, headers=bearer(s.member))
    assert response.status_code == 200, response.text
    similar = response.json()["similar"]
    assert {str(source.id), str(duplicate.id)} <= {p["id"] for p in similar}
    assert similar == sorted(similar, key=lambda p: -p["similarity"])
    # Nothing alike: the same shape, empty; anonymous callers may check a public table.
    fresh = {"title": "Orti urbani sui tetti", "body": "Coltivare ortaggi sui tetti piani."}
    none = await client.post(url, json=fresh)
    assert none.status_code == 200 and none.json() == {"similar": []}
    assert len((await session.exec(select(Proposal))).all()) == before
    assert_problem(await client.post(url, json={"title": "Troppo corto"}), 422)
    missing = f"/v1/tables/{uuid.uuid4()}/proposals/similar"
    assert_problem(await client.post(missing, json=draft), 404)
