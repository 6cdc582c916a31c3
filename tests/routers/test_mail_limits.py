"""Outgoing mail anyone may trigger is limited per recipient and per client address:
password resets and verification resends still answer 202 but send nothing past the
limits; registrations past the address limit are 429."""

import asyncio
import uuid
from pathlib import Path

from sqlmodel import col, func, select

from app.config import get_settings
from app.models.accounts import OneTimeToken, User
from tests.factories import commit_setup, make_user
from tests.helpers import assert_problem, make_client


def _mails_to(mail_dir: Path, email: str | None) -> int:
    assert email is not None
    return sum(1 for p in mail_dir.glob("*.eml") if email.lower() in p.name.lower())


async def _tokens(session, user_id, purpose: str) -> int:
    stmt = (
        select(func.count())
        .select_from(OneTimeToken)
        .where(col(OneTimeToken.user_id) == user_id, col(OneTimeToken.purpose) == purpose)
    )
    return int((await session.exec(stmt)).one())


def _email() -> str:
    return f"persona-{uuid.uuid4().hex[:10]}@example.org"


async def test_twenty_password_resets_send_five_emails(client, session, mail_dir):
    user = await make_user(session, email=_email())
    await commit_setup(session)
    assert get_settings().mail_limit_per_recipient == 5
    for _ in range(20):
        response = await client.post("/v1/auth/password-reset", json={"email": user.email})
        assert response.status_code == 202 and response.content == b""
    assert _mails_to(mail_dir, user.email) == 5
    assert await _tokens(session, user.id, "password_reset") == 5


async def test_verification_resends_are_limited_per_recipient(client, session, mail_dir):
    user = await make_user(session, email=_email(), verified=False)
    await commit_setup(session)
    for _ in range(12):
        response = await client.post("/v1/auth/verify-email/resend", json={"email": user.email})
        assert response.status_code == 202
    assert _mails_to(mail_dir, user.email) == 5
    assert await _tokens(session, user.id, "verify_email") == 5


async def test_mail_is_limited_per_client_address(app, session, mail_dir, monkeypatch):
    monkeypatch.setattr(get_settings(), "mail_limit_per_address", 3)
    people = [await make_user(session, email=_email()) for _ in range(5)]
    await commit_setup(session)
    async with make_client(app, "203.0.113.50") as flooder, make_client(app, "10.1.1.1") as other:
        for person in people:
            answer = await flooder.post("/v1/auth/password-reset", json={"email": person.email})
            assert answer.status_code == 202
        # Unknown accounts count too (the counters do not tell which accounts exist).
        assert (
            await flooder.post("/v1/auth/password-reset", json={"email": "nessuno@example.org"})
        ).status_code == 202
        assert [_mails_to(mail_dir, p.email) for p in people] == [1, 1, 1, 0, 0]
        # Someone else's address is not affected.
        answer = await other.post("/v1/auth/password-reset", json={"email": people[4].email})
        assert answer.status_code == 202
    assert _mails_to(mail_dir, people[4].email) == 1


def _registration(email: str) -> dict[str, str]:
    return {"email": email, "password": "una frase lunga", "display_name": "Persona"}


async def test_registrations_past_the_address_limit_are_429(app, session, mail_dir, monkeypatch):
    assert get_settings().registration_limit_per_address == 30
    limit = 10
    monkeypatch.setattr(get_settings(), "registration_limit_per_address", limit)
    emails = [_email() for _ in range(limit + 5)]
    async with (
        make_client(app, "203.0.113.77") as flooder,
        make_client(app, "10.2.2.2") as other,
    ):
        statuses = []
        for email in emails:
            statuses.append(await flooder.post("/v1/auth/register", json=_registration(email)))
        assert [r.status_code for r in statuses] == [201] * limit + [429] * 5
        problem = assert_problem(statuses[-1], 429, "too_many_registrations")
        assert int(statuses[-1].headers["Retry-After"]) > 0
        assert problem["detail"]
        late = _email()
        assert (await other.post("/v1/auth/register", json=_registration(late))).status_code == 201
    registered = await session.exec(
        select(func.count()).select_from(User).where(col(User.email).in_([*emails, late]))
    )
    assert registered.one() == limit + 1
    assert [_mails_to(mail_dir, e) for e in emails] == [1] * limit + [0] * 5


async def test_concurrent_registrations_do_not_get_past_the_address_limit(
    committing_client, engine, mail_dir, monkeypatch
):
    limit = 10
    monkeypatch.setattr(get_settings(), "registration_limit_per_address", limit)
    emails = [_email() for _ in range(limit + 6)]
    answers = await asyncio.gather(
        *[committing_client.post("/v1/auth/register", json=_registration(e)) for e in emails]
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * limit + [429] * 6, statuses
    async with engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(User).where(col(User.email).in_(emails))
        )
    assert count == limit
    assert sum(_mails_to(mail_dir, e) for e in emails) == limit
