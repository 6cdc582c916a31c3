"""Casting ballots at a fixed rate against a running server with the demo data loaded
(`make run`): the demo participatory budget's residents (`votanteNN.bari@…`,
`votanteNN.altamura@…`) sign in, then ballots arrive at `--rate` per second for
`--seconds` seconds (open loop: a request is sent on schedule whether or not the earlier
ones have answered), each one casting or changing a valid ballot of the voter's area.

    .venv/bin/python -m bench.budget_ballots --base http://127.0.0.1:8000 [--rate 200]

Target: p99 <= 50 ms at 200 ballots/s. Not part of the test run.
"""

import argparse
import asyncio
import random
import statistics
import sys
import time
from typing import Any

import httpx

PASSWORD = "consulta-demo-2026"
SLUG = "bilancio-partecipativo-2027"
TARGET_P99_MS = 50.0


async def _sign_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": email, "password": PASSWORD}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _ballots_by_area(client: httpx.AsyncClient, budget_id: str) -> dict[str, list[Any]]:
    """A few valid ballots per area (within its amount, at least half of it)."""
    areas = (await client.get(f"/v1/budgets/{budget_id}/areas")).json()["items"]
    result: dict[str, list[Any]] = {}
    rng = random.Random(200)
    for area in areas:
        projects = (
            await client.get(
                f"/v1/budgets/{budget_id}/projects",
                params={"area_id": area["id"], "on_ballot": "true", "limit": 100},
            )
        ).json()["items"]
        ballots = []
        for _ in range(20):
            rng.shuffle(projects)
            chosen, spent = [], 0
            for p in projects:
                if spent + p["cost"] <= area["amount"]:
                    chosen.append(p["id"])
                    spent += p["cost"]
            if spent * 2 >= area["amount"]:
                ballots.append(chosen)
        result[area["name"].lower()] = ballots
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    limits = httpx.Limits(max_connections=400)
    async with httpx.AsyncClient(base_url=args.base, limits=limits, timeout=30) as client:
        budgets = (await client.get("/v1/organizations/cm-bari/budgets?limit=100")).json()
        budget_id = next(b["id"] for b in budgets["items"] if b["slug"] == SLUG)
        ballots = await _ballots_by_area(client, budget_id)
        voters = [
            (area, await _sign_in(client, f"votante{i:02d}.{area}@consulta.demo"))
            for area in ballots
            for i in range(1, 13)
        ]
        url = f"/v1/budgets/{budget_id}/ballot"
        latencies: list[float] = []
        statuses: dict[int, int] = {}

        async def cast(n: int) -> None:
            area, headers = voters[n % len(voters)]
            body = {"project_ids": ballots[area][n % len(ballots[area])]}
            start = time.perf_counter()
            response = await client.put(url, json=body, headers=headers)
            latencies.append(time.perf_counter() - start)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        total = int(args.rate * args.seconds)
        started = time.perf_counter()
        tasks = []
        for n in range(total):
            delay = started + n / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(cast(n)))
        await asyncio.gather(*tasks)
    latencies.sort()
    p = statistics.quantiles(latencies, n=100)
    print(
        f"PUT ballot at {args.rate:.0f}/s: p50 {p[49] * 1000:.1f} ms  p95 {p[94] * 1000:.1f} ms  "
        f"p99 {p[98] * 1000:.1f} ms  statuses {statuses}"
    )
    if p[98] * 1000 > TARGET_P99_MS:
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
