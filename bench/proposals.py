"""Proposal scenarios for `make bench`: the sorted list of Bari's youth table, supports
from many distinct people, and a burst of supports on one hot proposal followed by a
check that `supports_count` equals the number of people whose support was accepted.

The supporters are real accounts, created through the API (bounded by `--supporters`):
register (with a birth date that fits the youth table), verify the email with the token
the `file` mail backend wrote, sign in.
"""

import asyncio
import itertools
import re
import uuid
from collections.abc import Awaitable, Callable
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx

Run = Callable[..., Awaitable[None]]
PASSWORD = "bench-supporter-2026"


async def _youth_table(client: httpx.AsyncClient) -> dict[str, Any]:
    tables = (await client.get("/v1/organizations/cm-bari/tables?limit=100")).json()
    return dict(next(t for t in tables["items"] if t["slug"] == "tavolo-giovani"))


def _verification_token(mail_dir: Path, email: str) -> str | None:
    for path in mail_dir.glob(f"*-{email}-*.eml"):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        body = message.get_body(preferencelist=("plain",))
        found = re.search(r"Verification token: (\S+)", body.get_content() if body else "")
        if found:
            return found.group(1)
    return None


async def _supporter(client: httpx.AsyncClient, mail_dir: Path, n: int) -> str:
    """A verified 20-year-old's access token."""
    email = f"sostenitore-{n}-{uuid.uuid4().hex[:6]}@bench.example.org"
    registered = await client.post(
        "/v1/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "display_name": f"Sostenitore {n}",
            "birth_date": "2005-05-05",
        },
    )
    registered.raise_for_status()
    token = None
    for _ in range(50):
        token = _verification_token(mail_dir, email)
        if token:
            break
        await asyncio.sleep(0.1)
    if token is None:
        raise SystemExit(f"no verification email for {email} in {mail_dir}")
    (await client.post("/v1/auth/verify-email", json={"token": token})).raise_for_status()
    signed_in = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
    )
    signed_in.raise_for_status()
    return str(signed_in.json()["access_token"])


async def bench_proposals(
    base: str, run: Run, requests: int, concurrency: int, mail_dir: Path, supporters: int
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        table = await _youth_table(client)
        listing = f"/v1/tables/{table['id']}/proposals"
        proposals = [p["id"] for p in (await client.get(f"{listing}?limit=100")).json()["items"]]
        semaphore = asyncio.Semaphore(8)  # argon2 on the server: a few at a time

        async def one(n: int) -> str:
            async with semaphore:
                return await _supporter(client, mail_dir, n)

        tokens = await asyncio.gather(*(one(n) for n in range(supporters)))
    print(f"({supporters} supporters registered, verified and signed in)")

    await run(
        "GET proposals ?sort=supports",
        base,
        lambda c: c.get(f"{listing}?sort=supports&limit=20"),
        requests,
        concurrency,
    )
    await run(
        "GET proposals ?q=biciclette",
        base,
        lambda c: c.get(f"{listing}?q=biciclette"),
        requests,
        concurrency,
    )

    # Distinct (person, proposal) pairs: every request adds a support.
    pairs = itertools.cycle(itertools.product(tokens, proposals[1:]))

    def support_next(c: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        token, proposal = next(pairs)
        return c.put(
            f"/v1/proposals/{proposal}/support", headers={"Authorization": f"Bearer {token}"}
        )

    await run(
        "PUT support (many people)",
        base,
        support_next,
        min(requests, supporters * (len(proposals) - 1)),
        concurrency,
    )

    # The closing-week burst: everyone supports the same proposal at once.
    hot = proposals[0]
    async with httpx.AsyncClient(base_url=base) as client:
        before = (await client.get(f"/v1/proposals/{hot}")).json()["supports_count"]
    crowd = iter(tokens)
    await run(
        "PUT support (one hot proposal)",
        base,
        lambda c: c.put(
            f"/v1/proposals/{hot}/support", headers={"Authorization": f"Bearer {next(crowd)}"}
        ),
        supporters,
        concurrency,
    )
    async with httpx.AsyncClient(base_url=base) as client:
        after = (await client.get(f"/v1/proposals/{hot}")).json()["supports_count"]
    verdict = "exact" if after == before + supporters else "MISMATCH"
    print(
        f"hot proposal supports_count {before} -> {after} after {supporters} "
        f"distinct supporters: {verdict}"
    )
