"""AgID ModI conventions: X-RateLimit-* headers and a read budget, /status as
problem+json, problems in Italian (app/read_limits.py, app/problems_it.py)."""

from app.config import get_settings
from app.error_codes import ErrorCode
from app.error_titles_it import TITLES_IT
from app.main import create_app
from app.problems_it import italian_detail, negotiate_language
from tests.factories import commit_setup, make_scene
from tests.helpers import assert_problem, bearer, make_client

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


async def test_reads_carry_both_rate_limit_header_forms(client, session, monkeypatch):
    monkeypatch.setattr(get_settings(), "read_limit_per_caller", 50)
    s = await make_scene(session)
    await commit_setup(session)
    first = await client.get(f"/v1/tables/{s.table.id}", headers=bearer(s.member))
    second = await client.get(f"/v1/tables/{s.table.id}/proposals", headers=bearer(s.member))
    assert first.status_code == second.status_code == 200
    assert first.headers["X-RateLimit-Limit"] == "50"
    assert int(first.headers["X-RateLimit-Remaining"]) == 49
    assert int(second.headers["X-RateLimit-Remaining"]) == 48
    for name in RATE_HEADERS:
        assert first.headers[name] == first.headers[name.removeprefix("X-")]
    assert 1 <= int(first.headers["X-RateLimit-Reset"]) <= 60
    assert first.headers["RateLimit-Policy"] == "50;w=60"
    # Errors of a rate-limited caller carry them too; another caller has their own budget.
    missing = await client.get("/v1/proposals/00000000-0000-0000-0000-000000000000")
    assert_problem(missing, 404)
    assert missing.headers["X-RateLimit-Remaining"] == "49"


async def test_a_write_mirrors_its_write_limit_as_x_ratelimit(client, session):
    s = await make_scene(session)
    await commit_setup(session)
    supported = await client.put(f"/v1/proposals/{s.proposal.id}/support", headers=bearer(s.member))
    assert supported.status_code == 201
    for name in RATE_HEADERS:
        assert supported.headers[name] == supported.headers[name.removeprefix("X-")]


async def test_past_the_read_budget_a_read_is_429_with_retry_after(client, session, monkeypatch):
    monkeypatch.setattr(get_settings(), "read_limit_per_caller", 3)
    s = await make_scene(session)
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}"
    answers = [await client.get(url, headers=bearer(s.member)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert_problem(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Limit"] == "3"
    # Per caller: someone else still reads; probes are never counted.
    assert (await client.get(url, headers=bearer(s.admin))).status_code == 200
    assert (await client.get("/healthz", headers=bearer(s.member))).status_code == 200
    # Writes are not charged to the read budget.
    assert (
        await client.put(f"/v1/proposals/{s.proposal.id}/support", headers=bearer(s.member))
    ).status_code == 201


async def test_status_answers_problem_json(client):
    for url in ("/status", "/v1/status"):
        response = await client.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json() == {"status": 200, "title": "OK"}
        assert "X-RateLimit-Limit" not in response.headers


async def test_accept_language_it_gives_italian_problems(client, session):
    s = await make_scene(session)
    await commit_setup(session)
    italian = {"Accept-Language": "it-IT,it;q=0.9,en;q=0.5"}
    missing = await client.get("/v1/nowhere", headers=italian)
    body = assert_problem(missing, 404, "not_found")
    assert body["title"] == "Risorsa non trovata"
    assert body["detail"] == "Nessuna risorsa a questo indirizzo."
    assert missing.headers["Content-Language"] == "it"

    invalid = await client.post(
        f"/v1/tables/{s.table.id}/proposals",
        headers={**bearer(s.member), **italian},
        json={"title": 5},
    )
    body = assert_problem(invalid, 422, "validation_error")
    assert body["title"] == "Richiesta non valida"
    assert body["detail"].startswith("La richiesta ha ") and "non valid" in body["detail"]
    assert body["errors"]  # field errors keep their codes

    english = await client.get("/v1/nowhere", headers={"Accept-Language": "en, it;q=0.5"})
    assert assert_problem(english, 404)["title"] == "Not found"
    assert english.headers["Content-Language"] == "en"
    default = await client.get("/v1/nowhere")
    assert default.headers["Content-Language"] == "en"


async def test_italian_errors_from_the_services(client, session):
    s = await make_scene(session)
    await commit_setup(session)
    headers = {**bearer(s.author), "Accept-Language": "it"}
    stale = await client.patch(
        f"/v1/proposals/{s.proposal.id}",
        headers={**headers, "If-Match": '"999"'},
        json={"title": "Un titolo nuovo, più chiaro"},
    )
    body = assert_problem(stale, 412, "stale_etag")
    assert body["title"] == TITLES_IT[ErrorCode.STALE_ETAG]
    assert body["detail"] == (
        "Il documento è cambiato dopo la tua lettura; rileggilo e riapplica la modifica."
    )
    unauthorized = await client.get("/v1/me", headers={"Accept-Language": "it"})
    assert assert_problem(unauthorized, 401)["title"] == "Autenticazione richiesta"


def test_every_error_code_has_an_italian_title():
    missing = [code.name for code in ErrorCode if not TITLES_IT.get(code, "").strip()]
    assert missing == []


def test_language_negotiation_and_detail_fallbacks():
    assert negotiate_language("") == "en"
    assert negotiate_language("it") == "it"
    assert negotiate_language("fr, it;q=0.4") == "it"
    assert negotiate_language("it;q=0.2, en;q=0.8") == "en"
    assert negotiate_language("it;q=oops") == "en"
    # A detail without data becomes the Italian title; one with data stays as it is.
    assert italian_detail("This table is closed for now.", "Tavolo non aperto") == (
        "Tavolo non aperto."
    )
    assert italian_detail("You support 5 proposals already.", "X") == (
        "You support 5 proposals already."
    )
    assert italian_detail("The request has 3 invalid fields.", "X") == (
        "La richiesta ha 3 campi non validi."
    )


async def test_the_read_budget_is_per_app_process(session, monkeypatch):
    """Each process counts for itself: a fresh app starts a fresh budget."""
    monkeypatch.setattr(get_settings(), "read_limit_per_caller", 1)
    async with make_client(create_app()) as one, make_client(create_app()) as two:
        assert (await one.get("/v1/organizations")).status_code == 200
        assert (await one.get("/v1/organizations")).status_code == 429
        assert (await two.get("/v1/organizations")).status_code == 200
