"""Open data: the DCAT-AP_IT catalog and every dataset, what they hold and leave out."""

import re
import uuid

import httpx
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF
from sqlmodel import col, select

from app.models.organizations import Organization
from app.services.open_data.datasets import DATASETS
from tests.factories import (
    OpenDataScene,
    commit_setup,
    make_open_data_scene,
    make_proposal,
    read_csv,
    read_jsonl,
)
from tests.helpers import assert_problem, bearer

DCATAPIT = Namespace("http://dati.gov.it/onto/dcatapit#")
THEMES = "http://publications.europa.eu/resource/authority/data-theme/"
CC_BY = URIRef("http://publications.europa.eu/resource/authority/licence/CC_BY_4_0")
PERSONAL = ("author", "user", "email", "display_name", "created_by", "recorded_by", "person")


def language(node: object) -> str | None:
    assert isinstance(node, Literal), node
    return node.language


def url(o: OpenDataScene, dataset: str, ext: str = "csv") -> str:
    return f"/v1/organizations/{o.scene.org.slug}/open-data/{dataset}.{ext}"


async def scene_with_ipa(client: httpx.AsyncClient, session) -> OpenDataScene:
    o = await make_open_data_scene(session)
    await commit_setup(session)
    response = await client.patch(
        f"/v1/organizations/{o.scene.org.slug}",
        json={"ipa_code": "c_a662"},
        headers=bearer(o.scene.admin),
    )
    assert response.status_code == 200, response.text
    assert response.json()["ipa_code"] == "c_a662"
    return o


async def test_ipa_code_is_set_by_the_admin_and_cleared_with_null(client, session):
    o = await scene_with_ipa(client, session)
    org_url = f"/v1/organizations/{o.scene.org.slug}"
    assert (await client.get(org_url)).json()["ipa_code"] == "c_a662"
    stranger = await client.patch(org_url, json={"ipa_code": "x_1"}, headers=bearer(o.scene.member))
    assert_problem(stranger, 404)
    bad = await client.patch(
        org_url, json={"ipa_code": "no spaces!"}, headers=bearer(o.scene.admin)
    )
    assert_problem(bad, 422)
    cleared = await client.patch(org_url, json={"ipa_code": None}, headers=bearer(o.scene.admin))
    assert cleared.status_code == 200 and cleared.json()["ipa_code"] is None
    stored = (
        await session.exec(select(Organization).where(col(Organization.id) == o.scene.org.id))
    ).one()
    await session.refresh(stored)
    assert stored.ipa_code is None


async def test_catalog_is_dcat_ap_it_and_lists_every_dataset(client, session):
    o = await scene_with_ipa(client, session)
    response = await client.get(f"/v1/organizations/{o.scene.org.slug}/open-data")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/ld+json")
    assert response.headers["cache-control"].startswith("public, max-age=")
    graph = Graph().parse(data=response.text, format="json-ld")
    catalog = next(graph.subjects(RDF.type, DCATAPIT.Catalog))
    assert (catalog, RDF.type, DCAT.Catalog) in graph
    datasets = set(graph.objects(catalog, DCAT.dataset))
    assert len(datasets) == len(DATASETS)
    identifiers = {str(graph.value(d, DCTERMS.identifier)) for d in datasets}
    assert identifiers == {f"c_a662:{slug}" for slug in DATASETS}
    publisher = graph.value(catalog, DCTERMS.publisher)
    assert (publisher, RDF.type, DCATAPIT.Agent) in graph
    assert str(graph.value(publisher, DCTERMS.identifier)) == "c_a662"
    assert graph.value(publisher, FOAF.name) is not None
    for d in datasets:
        assert (d, RDF.type, DCATAPIT.Dataset) in graph
        assert language(graph.value(d, DCTERMS.title)) == "it"
        assert language(graph.value(d, DCTERMS.description)) == "it"
        themes = [str(t) for t in graph.objects(d, DCAT.theme)]
        assert themes and all(t.startswith(THEMES) for t in themes)
        assert graph.value(d, DCTERMS.rightsHolder) == publisher
        assert graph.value(d, DCTERMS.publisher) == publisher
        assert str(graph.value(d, DCTERMS.accrualPeriodicity)).startswith(
            "http://publications.europa.eu/resource/authority/frequency/"
        )
        assert graph.value(d, DCTERMS.modified) is not None
        formats = set()
        for dist in graph.objects(d, DCAT.distribution):
            assert (dist, RDF.type, DCATAPIT.Distribution) in graph
            assert graph.value(dist, DCTERMS.license) == CC_BY
            formats.add(str(graph.value(dist, DCTERMS.format)).rsplit("/", 1)[1])
            assert graph.value(dist, DCAT.downloadURL) is not None
        assert formats == {"CSV", "JSON"}
    assert (CC_BY, RDF.type, DCATAPIT.LicenseDocument) in graph


async def test_every_download_url_of_the_catalog_answers(client, session):
    o = await scene_with_ipa(client, session)
    catalog = await client.get(f"/v1/organizations/{o.scene.org.slug}/open-data")
    graph = Graph().parse(data=catalog.text, format="json-ld")
    urls = sorted(str(u) for u in graph.objects(None, DCAT.downloadURL))
    assert len(urls) == 2 * len(DATASETS)
    for download in urls:
        assert download.startswith("http://testserver/v1/organizations/")
        response = await client.get(download.removeprefix("http://testserver"))
        assert response.status_code == 200, (download, response.text)
        assert response.headers["etag"].startswith('W/"')
        assert "attachment; filename=" in response.headers["content-disposition"]
        assert response.headers["cache-control"].startswith("public, max-age=")
        if download.endswith(".csv"):
            assert response.headers["content-type"] == "text/csv; charset=utf-8"
            dataset = download.rsplit("/", 1)[1].removesuffix(".csv")
            header = response.content.decode("utf-8")[1:].split("\r\n", 1)[0]
            assert header.split(",") == list(DATASETS[dataset].columns)
        else:
            assert response.headers["content-type"].startswith("application/jsonl")


async def test_no_dataset_has_a_personal_data_column_or_value(client, session):
    o = await scene_with_ipa(client, session)
    people = [o.scene.author, o.scene.member, o.scene.admin, o.scene.facilitator, *o.people]
    for slug, dataset in DATASETS.items():
        assert not [c for c in dataset.columns if any(p in c for p in PERSONAL)], slug
        body = (await client.get(url(o, slug))).text
        for person in people:
            assert str(person.id) not in body, (slug, "user id")
            assert person.email not in body, (slug, "email")
            assert person.display_name not in body, (slug, "name")


async def test_proposals_dataset(client, session):
    o = await scene_with_ipa(client, session)
    rows = read_csv(await client.get(url(o, "proposals")))
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {str(o.scene.proposal.id), str(o.shown["answered"])}
    answered = by_id[str(o.shown["answered"])]
    assert answered["body"] == 'Testo con "virgolette", punto e virgola; e a capo\nseconda riga'
    assert answered["node_codes"] == "4|4.1"
    assert answered["municipality_name"] == "Bari"
    assert answered["answer_state"] == "accepted" and answered["answer_text"] == "Risposta"
    assert answered["supports_count"] == "7" and answered["status"] == "published"
    assert answered["table_slug"] == o.scene.table.slug
    assert not o.hidden_ids & {uuid.UUID(i) for i in by_id}
    lines = read_jsonl(await client.get(url(o, "proposals", "jsonl")))
    one = next(r for r in lines if r["id"] == str(o.shown["answered"]))
    assert one["node_codes"] == ["4", "4.1"] and one["supports_count"] == 7


async def test_comments_dataset_leaves_out_hidden_pending_deleted_and_private(client, session):
    o = await scene_with_ipa(client, session)
    response = await client.get(url(o, "comments"))
    rows = read_csv(response)
    ids = {uuid.UUID(r["id"]) for r in rows}
    assert ids == {o.shown[k] for k in ("comment", "reply", "on_node", "on_meeting")}
    for text in o.texts_never_shown:
        assert text not in response.text
    top = next(r for r in rows if r["id"] == str(o.shown["comment"]))
    assert top["body"] == "Ottima idea" and top["upvotes"] == "3"
    assert top["alignment"] == "neutral" and top["target_type"] == "proposal"
    reply = next(r for r in rows if r["id"] == str(o.shown["reply"]))
    assert reply["parent_id"] == top["id"] and reply["depth"] == "1"


async def test_meetings_dataset_counts_attendance_and_carries_minutes(client, session):
    o = await scene_with_ipa(client, session)
    rows = read_jsonl(await client.get(url(o, "meetings", "jsonl")))
    ids = {uuid.UUID(r["id"]) for r in rows}
    assert ids == {o.scene.meeting.id, o.shown["held_meeting"]}
    held = next(r for r in rows if r["id"] == str(o.shown["held_meeting"]))
    assert held["title"] == "Assemblea di quartiere" and held["status"] == "held"
    assert (held["registered_count"], held["waitlisted_count"], held["checked_in_count"]) == (
        3,
        1,
        2,
    )
    assert held["minutes_attendees_count"] == 31
    assert held["minutes_text"] == "Verbale: approvata la proposta."
    assert held["minutes_attending_organizations"] == ["Legambiente"]


async def test_plan_nodes_indicators_and_measurements(client, session):
    o = await scene_with_ipa(client, session)
    nodes = read_jsonl(await client.get(url(o, "plan-nodes", "jsonl")))
    assert {n["code"] for n in nodes} == {"1", "4", "4.1", "9"}  # not the draft plan's 77
    by_code = {n["code"]: n for n in nodes}
    assert by_code["4.1"]["progress"] == 50.0 and by_code["4"]["progress"] == 50.0
    assert by_code["4.1"]["parent_id"] == by_code["4"]["id"]
    indicators = read_jsonl(await client.get(url(o, "indicators", "jsonl")))
    assert [i["id"] for i in indicators] == [str(o.shown["indicator"])]
    assert indicators[0]["latest_value"] == 5.0 and indicators[0]["node_code"] == "4.1"
    measurements = read_csv(await client.get(url(o, "measurements")))
    assert [m["value"] for m in measurements] == ["2.5", "5"]
    assert {m["indicator_id"] for m in measurements} == {str(o.shown["indicator"])}
    italian = read_csv(await client.get(url(o, "measurements") + "?delimiter=;"), ";")
    assert [m["value"] for m in italian] == ["2,5", "5"]


async def test_poll_results_are_closed_public_polls_only(client, session):
    o = await scene_with_ipa(client, session)
    rows = read_csv(await client.get(url(o, "poll-results")))
    assert {r["poll_id"] for r in rows} == {str(o.shown["closed_poll"])}
    assert [(r["option_label"], r["votes_count"]) for r in rows] == [
        ("Opzione 1", "4"),
        ("Opzione 2", "2"),
        ("Opzione 3", "0"),
    ]
    assert {r["ballots_count"] for r in rows} == {"6"}


async def test_semicolon_delimiter_and_rfc_4180_quoting(client, session):
    o = await scene_with_ipa(client, session)
    response = await client.get(url(o, "proposals") + "?delimiter=;")
    assert response.status_code == 200
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeffid;table_id;table_slug;title;body;")
    assert '"Testo con ""virgolette"", punto e virgola; e a capo\nseconda riga"' in text
    assert text.endswith("\r\n")
    rows = read_csv(response, ";")
    assert len(rows) == 2
    wrong = await client.get(url(o, "proposals") + "?delimiter=|")
    assert_problem(wrong, 422)


async def test_unknown_dataset_or_organization_is_a_404(client, session):
    o = await scene_with_ipa(client, session)
    assert_problem(await client.get(url(o, "users")), 404, "not_found")
    assert_problem(await client.get(url(o, "users", "jsonl")), 404, "not_found")
    missing = "/v1/organizations/nessuna/open-data"
    assert_problem(await client.get(missing), 404, "not_found")
    assert_problem(await client.get(missing + "/proposals.csv"), 404, "not_found")


async def test_if_none_match_answers_304_until_something_changes(client, session):
    o = await scene_with_ipa(client, session)
    first = await client.get(url(o, "proposals"))
    etag = first.headers["etag"]
    again = await client.get(url(o, "proposals"), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    other_format = await client.get(url(o, "proposals", "jsonl"), headers={"If-None-Match": etag})
    assert other_format.status_code == 200
    catalog_url = f"/v1/organizations/{o.scene.org.slug}/open-data"
    catalog = await client.get(catalog_url)
    cached = await client.get(catalog_url, headers={"If-None-Match": catalog.headers["etag"]})
    assert cached.status_code == 304
    # A write through the API (an event of the organization) changes every validator.
    rename = await client.patch(
        f"/v1/organizations/{o.scene.org.slug}",
        json={"name": "Città metropolitana"},
        headers=bearer(o.scene.admin),
    )
    assert rename.status_code == 200
    changed = await client.get(url(o, "proposals"), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


async def test_csv_guards_formulas_and_json_keeps_the_text(client, session):
    o = await scene_with_ipa(client, session)
    formula = '=HYPERLINK("http://x.example")'
    await make_proposal(session, o.scene.table, o.scene.author, title=formula)
    await commit_setup(session)
    rows = read_csv(await client.get(url(o, "proposals")))
    assert "'" + formula in {r["title"] for r in rows}
    lines = read_jsonl(await client.get(url(o, "proposals", "jsonl")))
    assert formula in {r["title"] for r in lines}
    instant = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00"
    assert all(re.fullmatch(instant, r["published_at"]) for r in rows)
    assert all(re.fullmatch(instant, r["published_at"]) for r in lines)
