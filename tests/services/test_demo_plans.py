"""`make run` loads the three bundled plans with demo indicators, idempotently."""

from sqlmodel import col, select

from app.demo.seed import DEMO_INDICATORS, seed_demo
from app.models.plans import Indicator, Plan, PlanNode
from tests.factories import count_rows


async def test_seed_demo_imports_the_plans_and_indicators_once(session):
    report = await seed_demo(session)
    assert {line for line in report if line.startswith("plan ")} == {
        "plan cm-bari/psm-bari: created",
        "plan cm-milano/psttm-2025-2027: created",
        "plan cm-torino/torino-metropoli-2025: created",
    }
    counts = {}
    for plan in (await session.exec(select(Plan))).all():
        counts[plan.slug] = len(
            (
                await session.exec(
                    select(PlanNode.id).where(
                        col(PlanNode.plan_id) == plan.id, col(PlanNode.archived_at).is_(None)
                    )
                )
            ).all()
        )
    assert counts == {"psm-bari": 38, "psttm-2025-2027": 51, "torino-metropoli-2025": 47}
    assert len((await session.exec(select(Indicator))).all()) == len(DEMO_INDICATORS)
    before = await count_rows(session)

    again = await seed_demo(session)

    assert await count_rows(session) == before  # no row, not even an event
    assert {line for line in again if line.startswith("plan ")} == {
        "plan cm-bari/psm-bari: unchanged",
        "plan cm-milano/psttm-2025-2027: unchanged",
        "plan cm-torino/torino-metropoli-2025: unchanged",
    }


async def test_a_newcomer_browses_the_demo(client, session):
    await seed_demo(session)
    await session.commit()

    bari = (await client.get("/v1/organizations/cm-bari/plans")).json()["items"][0]
    axes = (await client.get(f"/v1/plans/{bari['id']}/nodes?kind=axis&limit=100")).json()
    assert [n["code"] for n in axes["items"]] == [str(i) for i in range(1, 12)]
    milano = (await client.get("/v1/organizations/cm-milano/plans")).json()["items"][0]
    url = f"/v1/plans/{milano['id']}/nodes"
    assert len((await client.get(f"{url}?kind=mission")).json()["items"]) == 6
    assert len((await client.get(f"{url}?kind=driver")).json()["items"]) == 10

    report = (await client.get(f"/v1/plans/{bari['id']}/progress")).json()
    co2 = next(n for n in report["nodes"] if n["code"] == "2.1")
    assert co2["indicators"][0]["direction"] == "decrease"
    assert co2["progress"] == 45.7  # 1450 -> 1290 on the way to 1100
    energy = next(n for n in report["nodes"] if n["code"] == "10.2")
    assert energy["indicators_count"] == 1 and energy["progress"] is None
    csv_text = (await client.get(f"/v1/plans/{bari['id']}/progress?format=csv")).text
    assert len(csv_text.strip().splitlines()) == 1 + 38
