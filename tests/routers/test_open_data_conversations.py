"""Open data: the conversations' datasets — visible statements of public tables with their
counts, and the anonymous vote matrix — with no identity, and a validator that changes
when a vote does (votes write no events)."""

from tests.factories import (
    add_votes,
    commit_setup,
    make_conversation,
    make_org,
    make_statement,
    make_table,
    make_user,
    read_csv,
    read_jsonl,
)
from tests.helpers import bearer


def dataset_url(org_slug: str, dataset: str, ext: str = "csv") -> str:
    return f"/v1/organizations/{org_slug}/open-data/{dataset}.{ext}"


async def test_statements_and_votes_anonymous_and_public_only(client, session):
    org = await make_org(session)
    public = await make_conversation(session, await make_table(session, org))
    private = await make_conversation(session, await make_table(session, org, visibility="private"))
    author, voter = await make_user(session), await make_user(session)
    seen = await make_statement(session, public, "Più piste ciclabili", author=author)
    hidden = await make_statement(session, public, "Testo nascosto", status="hidden")
    secret = await make_statement(session, private, "Solo per i membri")
    await add_votes(session, public, [(voter, seen.id, 1), (author, seen.id, -1)])
    await add_votes(session, private, [(voter, secret.id, 1)])

    statements = read_jsonl(
        await client.get(dataset_url(org.slug, "conversation-statements", "jsonl"))
    )
    assert [s["statement_id"] for s in statements] == [str(seen.id)]
    assert statements[0]["agree_count"] == 1 and statements[0]["disagree_count"] == 1
    assert statements[0]["created_at"].endswith("+00:00")
    assert str(hidden.id) not in str(statements)

    response = await client.get(dataset_url(org.slug, "conversation-votes"))
    votes = read_csv(response)
    assert sorted(v["vote"] for v in votes) == ["agree", "disagree"]
    assert {v["statement_id"] for v in votes} == {str(seen.id)}
    assert len({v["participant"] for v in votes}) == 2
    for person in (author, voter):
        assert str(person.id) not in response.text and person.email not in response.text


async def test_a_vote_changes_the_votes_validator(client, session):
    org = await make_org(session)
    conversation = await make_conversation(session, await make_table(session, org))
    statement = await make_statement(session, conversation)
    voter = await make_user(session)
    await add_votes(session, conversation, [(voter, statement.id, 1)])
    await commit_setup(session)
    url = dataset_url(org.slug, "conversation-votes")
    first = await client.get(url)
    etag = first.headers["etag"]
    assert (await client.get(url, headers={"If-None-Match": etag})).status_code == 304

    changed = await client.put(
        f"/v1/statements/{statement.id}/vote", json={"vote": "disagree"}, headers=bearer(voter)
    )
    assert changed.status_code == 200, changed.text
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 200
    assert [row["vote"] for row in read_csv(again)] == ["disagree"]
