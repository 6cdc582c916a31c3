"""Statements sent to PostgreSQL per request on the hot paths (issue 11), as upper bounds:
a change that adds a round trip to a support cast, a proposal read, a proposal list or
`GET /v1/me` fails here. Each test also checks the answer and the database, so the
counts are of requests that did their whole job.

Counted: every statement on the engine (`before_cursor_execute`), without the test
harness's savepoints; the write-limit counter's own connection is a pool check-out.
"""

from typing import Any

from sqlalchemy import event
from sqlmodel import col, select

from app.models.events import Event
from app.models.proposals import Proposal, ProposalCoauthor, ProposalSupport
from tests.factories import (
    add_member,
    commit_setup,
    make_proposal,
    make_scene,
    make_table,
    make_user,
)
from tests.helpers import bearer

# The budgets (statements per request) this branch brought them to; before: me 2,
# proposal read 8, list 9, support cast 6 (+1 pool check-out for the write limit).
ME = 2  # the caller (with its sign-in's state), their roles
PROPOSAL_READ = 2  # the caller, the proposal with its context and response extras
PROPOSAL_READ_ANONYMOUS = 1
LIST_PAGE = 4  # the caller, the table context, the page, the page's extras
SUPPORT_CAST = 4  # write-limit counters, the caller, the proposal's context, the write
SUPPORT_WITHDRAW = 3  # the caller, the proposal's context, the write


def statements(counter: Any) -> list[str]:
    return [q for q in counter.statements if "SAVEPOINT" not in q]


class CheckOuts:
    """Pool check-outs (each a connection taken for the request, beyond the test's own)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: Any) -> None:
        self.count += 1


async def test_get_me_budget(client, session, query_counter):
    s = await make_scene(session, content=False)
    await commit_setup(session)
    query_counter.reset()
    response = await client.get("/v1/me", headers=bearer(s.admin))
    assert response.status_code == 200
    assert response.json()["id"] == str(s.admin.id)
    assert [r["role"] for r in response.json()["roles"]] == ["admin"]
    assert len(statements(query_counter)) <= ME, statements(query_counter)


async def test_proposal_read_budget(client, session, query_counter):
    s = await make_scene(session, content=False)
    coauthor = await make_user(session, name="Coautrice")
    proposal = await make_proposal(
        session, s.table, s.facilitator, node_ids=[s.nodes["4"].id, s.nodes["1"].id]
    )
    session.add(ProposalCoauthor(proposal_id=proposal.id, user_id=coauthor.id))
    session.add(ProposalSupport(proposal_id=proposal.id, user_id=s.member.id, table_id=s.table.id))
    await commit_setup(session)
    url = f"/v1/proposals/{proposal.id}"

    query_counter.reset()
    response = await client.get(url, headers=bearer(s.member))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["supported_by_me"] is True
    assert body["author"] == {"id": str(s.facilitator.id), "display_name": "Facilitatrice"}
    assert body["coauthors"] == [{"id": str(coauthor.id), "display_name": "Coautrice"}]
    assert set(body["node_ids"]) == {str(s.nodes["1"].id), str(s.nodes["4"].id)}
    assert len(statements(query_counter)) <= PROPOSAL_READ, statements(query_counter)

    query_counter.reset()
    anonymous = await client.get(url)
    assert anonymous.status_code == 200
    assert anonymous.json()["supported_by_me"] is None
    assert len(statements(query_counter)) <= PROPOSAL_READ_ANONYMOUS, statements(query_counter)


async def test_reused_statements_keep_each_callers_authorization(client, session):
    """The proposal read's statement is built once per kind of caller and reused with
    the caller's id as a parameter: one person's access never carries over to another."""
    s = await make_scene(session, content=False)
    private = await make_table(session, s.org, plan_id=s.plan.id, visibility="private")
    insider, outsider = await make_user(session, name="Dentro"), await make_user(session)
    await add_member(session, private, insider)
    proposal = await make_proposal(session, private, insider)
    await commit_setup(session)
    url = f"/v1/proposals/{proposal.id}"
    assert (await client.get(url, headers=bearer(insider))).status_code == 200
    assert (await client.get(url, headers=bearer(outsider))).status_code == 404
    assert (await client.get(url)).status_code == 404
    assert (await client.get(url, headers=bearer(s.admin))).status_code == 200  # org admin
    assert (await client.get(url, headers=bearer(outsider))).status_code == 404
    listing = f"/v1/tables/{private.id}/proposals"
    assert (await client.get(listing, headers=bearer(insider))).status_code == 200
    assert (await client.get(listing, headers=bearer(outsider))).status_code == 404


async def test_proposal_list_budget(client, session, query_counter):
    s = await make_scene(session, content=False)
    for n in range(5):
        proposal = await make_proposal(session, s.table, s.facilitator, node_ids=[s.nodes["1"].id])
        if n % 2:
            session.add(
                ProposalSupport(proposal_id=proposal.id, user_id=s.member.id, table_id=s.table.id)
            )
    await commit_setup(session)
    for limit in (1, 5):
        query_counter.reset()
        response = await client.get(
            f"/v1/tables/{s.table.id}/proposals?limit={limit}", headers=bearer(s.member)
        )
        assert response.status_code == 200
        items = response.json()["items"]
        assert len(items) == limit
        assert all(item["node_ids"] == [str(s.nodes["1"].id)] for item in items)
        assert len(statements(query_counter)) <= LIST_PAGE, statements(query_counter)
    assert sum(item["supported_by_me"] for item in items) == 2


async def test_support_cast_and_withdraw_budget(client, session, query_counter, engine):
    s = await make_scene(session, content=False)
    proposal = await make_proposal(session, s.table, s.facilitator)
    await commit_setup(session)
    url = f"/v1/proposals/{proposal.id}/support"
    checkouts = CheckOuts()
    event.listen(engine.sync_engine.pool, "checkout", checkouts)
    try:
        query_counter.reset()
        cast = await client.put(url, headers=bearer(s.member))
        assert cast.status_code == 201, cast.text
        assert cast.json()["supports_count"] == 1
        assert len(statements(query_counter)) <= SUPPORT_CAST, statements(query_counter)
        assert checkouts.count <= 1  # the write-limit counter's connection, nothing more

        query_counter.reset()
        again = await client.put(url, headers=bearer(s.member))
        assert again.status_code == 200 and again.json()["supports_count"] == 1
        assert len(statements(query_counter)) <= SUPPORT_CAST, statements(query_counter)
    finally:
        event.remove(engine.sync_engine.pool, "checkout", checkouts)
    count = (
        await session.exec(
            select(Proposal.supports_count)
            .where(col(Proposal.id) == proposal.id)
            .execution_options(populate_existing=True)
        )
    ).one()
    assert count == 1
    supported = (
        await session.exec(select(Event).where(col(Event.subject_id) == proposal.id))
    ).all()
    assert [(e.type, e.actor_id, e.payload) for e in supported] == [
        ("proposal.supported", s.member.id, {"table_id": str(s.table.id)})
    ]

    query_counter.reset()
    withdrawn = await client.delete(url, headers=bearer(s.member))
    assert withdrawn.status_code == 204
    assert len(statements(query_counter)) <= SUPPORT_WITHDRAW, statements(query_counter)
    rows = (
        await session.exec(
            select(ProposalSupport).where(col(ProposalSupport.proposal_id) == proposal.id)
        )
    ).all()
    assert rows == []
