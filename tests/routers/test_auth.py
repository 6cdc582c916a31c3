"""Accounts: register, verify, sign in, refresh rotation, logout, password reset, /v1/me."""

import asyncio
import email
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jose import jwt
from sqlalchemy import text
from sqlmodel import col, func, select

from app.config import get_settings
from app.models.accounts import RefreshToken, User
from app.models.events import Event
from app.security import create_access_token, hash_opaque_token
from tests.factories import PASSWORD, commit_setup, make_user
from tests.helpers import assert_problem, auth_headers, login, refresh


def _token_from_mail(mail_dir: Path, to: str) -> str:
    files = sorted(p for p in mail_dir.glob("*.eml") if to.lower() in p.name.lower())
    assert files, f"no email for {to} in {mail_dir}"
    message = email.message_from_bytes(files[-1].read_bytes())
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    match = re.search(r"token: (\S+)", body)
    assert match, body
    return match.group(1)


async def test_register_verify_sign_in_and_read_profile(client, mail_dir, session):
    response = await client.post(
        "/v1/auth/register",
        json={
            "email": "Maria.Rossi@Example.org",
            "password": "una frase lunga e sicura",
            "display_name": "Maria Rossi",
            "birth_date": "2004-05-01",
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["email_verified"] is False
    assert "password_hash" not in created

    # Unverified people can sign in (but cannot write content: later issues).
    tokens = await login(client, "maria.rossi@example.org", "una frase lunga e sicura")
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["email_verified"] is False

    token = _token_from_mail(mail_dir, "Maria.Rossi@Example.org")
    assert (await client.post("/v1/auth/verify-email", json={"token": token})).status_code == 204
    # Single use.
    assert_problem(
        await client.post("/v1/auth/verify-email", json={"token": token}), 422, "invalid_token"
    )

    tokens = await login(client, "maria.rossi@example.org", "una frase lunga e sicura")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    body = me.json()
    assert body["id"] == created["id"]
    assert body["email"] == "Maria.Rossi@example.org"  # domain normalized
    assert body["email_verified"] is True
    assert body["birth_date"] == "2004-05-01"

    types = (
        await session.exec(select(Event.type).where(col(Event.subject_id) == created["id"]))
    ).all()
    assert {"user.registered", "user.email_verified", "user.signed_in"} <= set(types)


async def test_register_refuses_bad_input_and_changes_nothing(client, session):
    before = (await session.exec(select(func.count()).select_from(User))).one()
    cases = [
        (
            {"email": "a@example.org", "password": "password123", "display_name": "A"},
            "weak_password",
        ),
        ({"email": "a@example.org", "password": "short", "display_name": "A"}, "weak_password"),
        ({"email": "a@example.org", "password": "x" * 129, "display_name": "A"}, "weak_password"),
        (
            {"email": "not-an-email", "password": "una frase lunga", "display_name": "A"},
            "validation_error",
        ),
        ({"email": "a@example.org", "password": "una frase lunga"}, "validation_error"),
        (
            {
                "email": "a@example.org",
                "password": "una frase lunga",
                "display_name": "A",
                "is_platform_admin": True,
            },
            "validation_error",
        ),
        (
            {
                "email": "a@example.org",
                "password": "una frase lunga",
                "display_name": "A",
                "municipality_id": "8d1c3f0e-0000-4000-8000-000000000000",
            },
            "unknown_municipality",
        ),
        (
            {
                "email": "a@example.org",
                "password": "una frase lunga",
                "display_name": "A",
                "birth_date": "2999-01-01",
            },
            "invalid_birth_date",
        ),
    ]
    for body, code in cases:
        problem = assert_problem(await client.post("/v1/auth/register", json=body), 422, code)
        assert problem["errors"], problem
    after = (await session.exec(select(func.count()).select_from(User))).one()
    assert after == before


async def test_register_same_email_any_case_conflicts(client, session):
    await make_user(session, email="dup@example.org")
    response = await client.post(
        "/v1/auth/register",
        json={"email": "DUP@example.org", "password": "una frase lunga", "display_name": "Dup"},
    )
    assert_problem(response, 409, "email_taken")


async def test_unknown_email_and_wrong_password_answer_identically(client, session):
    user = await make_user(session)
    unknown = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "nobody@example.org", "password": "whatever1"},
    )
    wrong = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": user.email, "password": "whatever1"},
    )
    assert unknown.status_code == wrong.status_code == 400
    assert unknown.json() == wrong.json()
    assert unknown.json()["code"] == "invalid_grant"
    assert unknown.json()["error"] == "invalid_grant"  # OAuth2 clients read this field


async def test_unknown_email_costs_a_password_hash_too(client, session):
    user = await make_user(session)

    async def timed(username: str) -> float:
        start = time.perf_counter()
        await client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": username, "password": "whatever1"},
        )
        return time.perf_counter() - start

    known = min([await timed(user.email or "") for _ in range(3)])
    unknown = min([await timed("ghost@example.org") for _ in range(3)])
    # Both verify an argon2id hash (~tens of ms); a skipped hash would be ~10x faster.
    assert unknown > known * 0.5, (known, unknown)


async def test_failed_logins_are_throttled_per_account(client, session):
    user = await make_user(session)
    limit = get_settings().login_max_failures_per_account_address
    for _ in range(limit):
        response = await client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": user.email, "password": "wrong-password"},
        )
        assert response.status_code == 400
    blocked = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": user.email, "password": PASSWORD},
    )
    problem = assert_problem(blocked, 429, "too_many_attempts")
    assert int(blocked.headers["Retry-After"]) > 0
    assert problem["detail"]
    # Unknown accounts are throttled the same way (no enumeration through 429s).
    for _ in range(limit):
        await client.post(
            "/v1/auth/token",
            data={
                "grant_type": "password",
                "username": "ghost@example.org",
                "password": "nope-nope",
            },
        )
    assert_problem(
        await client.post(
            "/v1/auth/token",
            data={
                "grant_type": "password",
                "username": "ghost@example.org",
                "password": "nope-nope",
            },
        ),
        429,
    )


def _password_grant(email: str | None, password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": email or "", "password": password}


async def test_an_attacker_cannot_lock_the_owner_out_from_another_address(app, session):
    from tests.helpers import make_client

    user = await make_user(session)
    await commit_setup(session)
    limit = get_settings().login_max_failures_per_account_address
    assert limit == 5
    async with (
        make_client(app, "203.0.113.66") as attacker,
        make_client(app, "198.51.100.7") as owner,
    ):
        for _ in range(limit):
            wrong = await attacker.post("/v1/auth/token", data=_password_grant(user.email, "no!"))
            assert_problem(wrong, 400, "invalid_grant")
        # The attacker's address is slowed down for this account, even with the password…
        blocked = await attacker.post("/v1/auth/token", data=_password_grant(user.email, PASSWORD))
        assert_problem(blocked, 429, "too_many_attempts")
        # …while the owner, from elsewhere, signs in at once (before the meeting).
        signed_in = await owner.post("/v1/auth/token", data=_password_grant(user.email, PASSWORD))
        assert signed_in.status_code == 200, signed_in.text
        assert signed_in.json()["access_token"]
    rows = await (await session.connection()).execute(
        text("SELECT key, count FROM rate_limit_counters WHERE key LIKE 'login:%'")
    )
    counters = {key: count for key, count in rows.all()}
    assert sorted(counters.values()) == [5, 5, 5]  # (account, attacker), account, attacker
    assert not any("198.51.100.7" in key for key in counters)


async def test_the_account_wide_ceiling_stops_distributed_guessing(app, session, monkeypatch):
    from tests.helpers import make_client

    monkeypatch.setattr(get_settings(), "login_max_failures_per_account", 8)
    user = await make_user(session)
    await commit_setup(session)
    async with (
        make_client(app, "203.0.113.1") as first,
        make_client(app, "203.0.113.2") as second,
        make_client(app, "198.51.100.7") as owner,
    ):
        for client, tries in ((first, 5), (second, 3)):
            for _ in range(tries):
                wrong = await client.post("/v1/auth/token", data=_password_grant(user.email, "no"))
                assert_problem(wrong, 400, "invalid_grant")
        blocked = await owner.post("/v1/auth/token", data=_password_grant(user.email, PASSWORD))
        assert_problem(blocked, 429, "too_many_attempts")
        assert int(blocked.headers["Retry-After"]) > 0


async def test_failed_logins_are_throttled_per_address(app, session, monkeypatch):
    from tests.helpers import make_client

    monkeypatch.setattr(get_settings(), "login_max_failures_per_address", 3)
    async with make_client(app, "203.0.113.9") as attacker, make_client(app) as other:
        for i in range(3):
            await attacker.post(
                "/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": f"victim{i}@example.org",
                    "password": "guess-guess",
                },
            )
        assert_problem(
            await attacker.post(
                "/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": "fresh@example.org",
                    "password": "x" * 9,
                },
            ),
            429,
        )
        user = await make_user(session)
        # Another address is not affected.
        assert (
            await other.post(
                "/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": user.email,
                    "password": PASSWORD,
                },
            )
        ).status_code == 200


async def test_forged_access_tokens_are_refused(client, session):
    user = await make_user(session)
    settings = get_settings()
    now = datetime.now(UTC)
    good, _ = create_access_token(user.id)
    claims = {
        "sub": str(user.id),
        "type": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }

    def b64(data: bytes) -> str:
        import base64

        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    import json

    header_none = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    head, _, signature = good.split(".")
    tampered_claims = dict(claims, sub="00000000-0000-4000-8000-000000000000")
    forged = {
        "alg none": f"{header_none}.{payload}.",
        "other key": jwt.encode(claims, "another-secret-key-another-secret-key", algorithm="HS256"),
        "expired": jwt.encode(
            dict(
                claims,
                iat=int((now - timedelta(hours=2)).timestamp()),
                exp=int((now - timedelta(hours=1)).timestamp()),
            ),
            settings.secret_key,
            algorithm="HS256",
        ),
        "tampered payload": f"{head}.{b64(json.dumps(tampered_claims).encode())}.{signature}",
        "no type": jwt.encode(
            {k: v for k, v in claims.items() if k != "type"}, settings.secret_key, algorithm="HS256"
        ),
        "no exp": jwt.encode(
            {k: v for k, v in claims.items() if k != "exp"}, settings.secret_key, algorithm="HS256"
        ),
        "garbage": "not.a.jwt",
    }
    tokens = await login(client, user.email)
    forged["refresh token as access"] = tokens["refresh_token"]
    forged["refresh type claim"] = jwt.encode(
        dict(claims, type="refresh"), settings.secret_key, algorithm="HS256"
    )
    for name, token in forged.items():
        response = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        problem = assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), name
        assert problem["code"] == "unauthorized", name
    assert (
        await client.get("/v1/me", headers={"Authorization": f"Bearer {good}"})
    ).status_code == 200


async def test_missing_token_is_401_with_challenge(client):
    response = await client.get("/v1/me")
    assert_problem(response, 401, "unauthorized")
    assert "Bearer" in response.headers["WWW-Authenticate"]


async def test_refresh_rotates_and_reuse_revokes_the_family(client, session):
    user = await make_user(session)
    phone = await login(client, user.email)  # another sign-in, on another device
    first = await login(client, user.email)
    rotated = await refresh(client, first["refresh_token"])
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    stolen_access = {"Authorization": f"Bearer {second['access_token']}"}
    assert (await client.get("/v1/me", headers=stolen_access)).status_code == 200

    # The old token comes back: refused, and the whole family dies with it.
    reuse = await refresh(client, first["refresh_token"])
    body = assert_problem(reuse, 401, "invalid_grant")
    assert body["error"] == "invalid_grant"
    assert reuse.headers["WWW-Authenticate"].startswith("Bearer")
    after = await refresh(client, second["refresh_token"])
    assert_problem(after, 401, "invalid_grant")
    # So do the access tokens issued along it: whoever holds one is out at once.
    assert_problem(await client.get("/v1/me", headers=stolen_access), 401)
    live = (
        await session.exec(
            select(func.count())
            .select_from(RefreshToken)
            .where(
                col(RefreshToken.family_id).in_(
                    select(RefreshToken.family_id).where(
                        col(RefreshToken.token_hash) == hash_opaque_token(first["refresh_token"])
                    )
                ),
                col(RefreshToken.revoked_at).is_(None),
            )
        )
    ).one()
    assert live == 0
    # The other sign-in is untouched: its access token and its refresh token still work.
    phone_access = {"Authorization": f"Bearer {phone['access_token']}"}
    assert (await client.get("/v1/me", headers=phone_access)).status_code == 200
    refreshed = await refresh(client, phone["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    # And signing in again works.
    fresh = await login(client, user.email)
    assert (
        await client.get("/v1/me", headers={"Authorization": f"Bearer {fresh['access_token']}"})
    ).status_code == 200


async def test_concurrent_refresh_with_one_token_succeeds_once(committing_client):
    client = committing_client
    response = await client.post(
        "/v1/auth/register",
        json={"email": "race@example.org", "password": "una frase lunga", "display_name": "Race"},
    )
    assert response.status_code == 201
    tokens = await login(client, "race@example.org", "una frase lunga")
    results = await asyncio.gather(*[refresh(client, tokens["refresh_token"]) for _ in range(5)])
    assert sorted(r.status_code for r in results) == [200, 401, 401, 401, 401]


async def test_logout_ends_the_sign_in_and_only_that_one(client, session):
    user = await make_user(session)
    other = await login(client, user.email)
    tokens = await login(client, user.email)
    access = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/v1/me", headers=access)).status_code == 200
    assert (
        await client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 204
    assert_problem(
        await refresh(client, tokens["refresh_token"]),
        401,
        "invalid_grant",
    )
    # The sign-in's access token stops at once, not when it expires.
    assert_problem(await client.get("/v1/me", headers=access), 401)
    # The person's other sign-in carries on.
    other_access = {"Authorization": f"Bearer {other['access_token']}"}
    assert (await client.get("/v1/me", headers=other_access)).status_code == 200


async def test_token_endpoint_rejects_unknown_grants(client):
    assert_problem(
        await client.post("/v1/auth/token", data={"grant_type": "implicit"}),
        400,
        "unsupported_grant_type",
    )
    assert_problem(
        await client.post("/v1/auth/token", data={"grant_type": "password"}), 400, "invalid_request"
    )
    assert_problem(await client.post("/v1/auth/token", data={}), 422, "validation_error")


async def test_password_reset_flow(client, session, mail_dir):
    user = await make_user(session, email="reset-me@example.org")
    old = await login(client, user.email)
    for address in ("reset-me@example.org", "nobody-here@example.org"):
        response = await client.post("/v1/auth/password-reset", json={"email": address})
        assert response.status_code == 202
    assert not list(mail_dir.glob("*nobody-here@example.org*"))
    token = _token_from_mail(mail_dir, "reset-me@example.org")

    weak = await client.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "password": "12345678"}
    )
    assert_problem(weak, 422, "weak_password")
    done = await client.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "password": "un'altra frase lunga"}
    )
    assert done.status_code == 204
    assert_problem(
        await client.post(
            "/v1/auth/password-reset/confirm",
            json={"token": token, "password": "ancora un'altra frase"},
        ),
        422,
        "invalid_token",
    )

    assert_problem(
        await client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": user.email, "password": PASSWORD},
        ),
        400,
    )
    assert (await login(client, user.email, "un'altra frase lunga"))["access_token"]
    # Sessions from before the reset are dead: refresh and access tokens.
    assert_problem(
        await refresh(client, old["refresh_token"]),
        401,
        "invalid_grant",
    )
    user.tokens_invalid_before = datetime.now(UTC) + timedelta(seconds=2)
    session.add(user)
    await session.flush()
    assert_problem(
        await client.get("/v1/me", headers={"Authorization": f"Bearer {old['access_token']}"}), 401
    )


async def test_patch_me(client, session):
    user = await make_user(session)
    headers = await auth_headers(client, user)
    response = await client.patch(
        "/v1/me", headers=headers, json={"display_name": "Nuovo Nome", "locale": "en"}
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "Nuovo Nome"
    assert response.json()["locale"] == "en"
    assert_problem(
        await client.patch("/v1/me", headers=headers, json={"password": "una nuova frase lunga"}),
        422,
        "wrong_current_password",
    )
    assert_problem(
        await client.patch("/v1/me", headers=headers, json={"is_platform_admin": True}),
        422,
        "validation_error",
    )
    for field in ("display_name", "locale"):
        nulled = assert_problem(
            await client.patch("/v1/me", headers=headers, json={field: None}),
            422,
            "validation_error",
        )
        assert nulled["errors"] == [
            {"loc": ["body", field], "msg": "cannot be null", "code": "null_not_allowed"}
        ]
    ok = await client.patch(
        "/v1/me",
        headers=headers,
        json={"password": "una nuova frase lunga", "current_password": PASSWORD},
    )
    assert ok.status_code == 200
    assert (await login(client, user.email, "una nuova frase lunga"))["access_token"]


async def test_a_new_password_ends_the_other_sign_ins_not_this_one(client, session):
    user = await make_user(session)
    laptop = await login(client, user.email)
    phone = await login(client, user.email)
    here = {"Authorization": f"Bearer {phone['access_token']}"}
    changed = await client.patch(
        "/v1/me",
        headers=here,
        json={"password": "una nuova frase lunga", "current_password": PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    # The device the password was changed on carries on, and can refresh.
    assert (await client.get("/v1/me", headers=here)).status_code == 200
    refreshed = await refresh(client, phone["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    # The other one is signed out at once: access and refresh tokens.
    elsewhere = {"Authorization": f"Bearer {laptop['access_token']}"}
    assert_problem(await client.get("/v1/me", headers=elsewhere), 401)
    assert_problem(
        await refresh(client, laptop["refresh_token"]),
        401,
        "invalid_grant",
    )


async def test_one_revoked_token_ends_the_whole_sign_in(client, session):
    # A revocation racing a rotation can leave the newest token of the family unmarked:
    # the sign-in is over all the same (both for its access tokens and its refresh).
    user = await make_user(session)
    first = await login(client, user.email)
    second = (await refresh(client, first["refresh_token"])).json()
    old = (
        await session.exec(
            select(RefreshToken).where(
                col(RefreshToken.token_hash) == hash_opaque_token(first["refresh_token"])
            )
        )
    ).one()
    old.revoked_at = datetime.now(UTC)
    await commit_setup(session)

    access = {"Authorization": f"Bearer {second['access_token']}"}
    assert_problem(await client.get("/v1/me", headers=access), 401)
    assert_problem(
        await refresh(client, second["refresh_token"]),
        401,
        "invalid_grant",
    )
    live = (
        await session.exec(
            select(func.count())
            .select_from(RefreshToken)
            .where(
                col(RefreshToken.family_id) == old.family_id, col(RefreshToken.revoked_at).is_(None)
            )
        )
    ).one()
    assert live == 0


async def test_a_class_signing_in_at_once_is_served(committing_client, monkeypatch):
    # More sign-ins at once than the pool has connections: each must get by with the
    # one connection its request holds (counters included), or they wait for each other
    # until the pool times out.
    client = committing_client
    settings = get_settings()
    monkeypatch.setattr(settings, "registration_limit_per_address", 100)
    people = settings.db_pool_size + settings.db_max_overflow + 10
    for n in range(people):
        registered = await client.post(
            "/v1/auth/register",
            json={
                "email": f"classe{n}@example.org",
                "password": "una frase lunga",
                "display_name": f"Studente {n}",
            },
        )
        assert registered.status_code == 201, registered.text
    answers = await asyncio.gather(
        *[
            client.post(
                "/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": f"classe{n}@example.org",
                    "password": "una frase lunga" if n % 5 else "sbagliata!",
                },
            )
            for n in range(people)
        ]
    )
    statuses = [a.status_code for a in answers]
    assert statuses == [400 if n % 5 == 0 else 200 for n in range(people)], statuses


async def test_a_long_email_is_throttled_like_any_other(client, session):
    # The account's counter key holds a hash of the email: any length fits.
    email = f"{'a' * 60}@{'b' * 60}.{'c' * 60}.{'d' * 60}.it"
    await make_user(session, email=email)
    await commit_setup(session)
    statuses = []
    for _ in range(6):
        response = await client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": "sbagliata!"},
        )
        statuses.append(response.status_code)
    assert statuses == [400] * 5 + [429]
    too_long = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "x" * 1000, "password": "sbagliata!"},
    )
    assert_problem(too_long, 400, "invalid_grant")


async def test_parallel_guesses_do_not_get_past_the_account_limit(committing_client):
    client = committing_client
    settings = get_settings()
    registered = await client.post(
        "/v1/auth/register",
        json={"email": "bersaglio@example.org", "password": "una frase lunga", "display_name": "B"},
    )
    assert registered.status_code == 201, registered.text
    guesses = 6 * settings.login_max_failures_per_account_address
    answers = await asyncio.gather(
        *[
            client.post(
                "/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": "bersaglio@example.org",
                    "password": f"tentativo {n}",
                },
            )
            for n in range(guesses)
        ]
    )
    statuses = sorted(a.status_code for a in answers)
    checked = settings.login_max_failures_per_account_address
    assert statuses == [400] * checked + [429] * (guesses - checked), statuses


async def test_signing_out_while_an_old_token_is_replayed_does_not_deadlock(
    committing_client, monkeypatch
):
    # Both end the same sign-in from different tokens of it; with each locking its own
    # token first, they deadlocked. Slowing the revocation widens the window.
    from app.services.accounts import sign_in

    client = committing_client
    registered = await client.post(
        "/v1/auth/register",
        json={"email": "doppio@example.org", "password": "una frase lunga", "display_name": "D"},
    )
    assert registered.status_code == 201
    first = await login(client, "doppio@example.org", "una frase lunga")
    second = (await refresh(client, first["refresh_token"])).json()

    revoke = sign_in._revoke_family

    async def slow_revoke(session, family_id):
        await asyncio.sleep(0.3)
        await revoke(session, family_id)

    monkeypatch.setattr(sign_in, "_revoke_family", slow_revoke)
    replayed, signed_out = await asyncio.gather(
        refresh(client, first["refresh_token"]),
        client.post("/v1/auth/logout", json={"refresh_token": second["refresh_token"]}),
    )
    assert replayed.status_code == 401, replayed.text
    assert signed_out.status_code == 204, signed_out.text
    assert (await refresh(client, second["refresh_token"])).status_code == 401
