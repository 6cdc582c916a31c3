"""The demo gives the youth table's facilitator a queue to work through, once."""

from sqlalchemy import func
from sqlmodel import col, select

from app.demo.comments import youth_table
from app.demo.moderation import HELD_PROPOSAL, SPAM
from app.demo.seed import seed_demo
from app.models.moderation import Moderation, Report
from tests.factories import commit_setup
from tests.helpers import bearer


async def test_the_demo_queue_has_a_pending_proposal_and_a_reported_comment(client, session):
    await seed_demo(session)
    await seed_demo(session)
    await commit_setup(session)
    table = await youth_table(session)
    assert table is not None
    facilitator_email = "facilitazione.giovani@consulta.demo"
    from app.services.accounts.people import find_user_by_email

    facilitator = await find_user_by_email(session, facilitator_email)
    assert facilitator is not None

    queue = await client.get(f"/v1/tables/{table.id}/moderation", headers=bearer(facilitator))
    assert queue.status_code == 200, queue.text
    items = queue.json()["items"]
    pending = [i for i in items if i["target_type"] == "proposal"]
    reported = [i for i in items if i["target_type"] == "comment"]
    assert len(pending) == 1 and len(reported) == 1, items
    assert pending[0]["status"] == "pending"
    assert reported[0]["report_count"] == 2 and reported[0]["status"] == "visible"
    assert {r["reason"] for r in reported[0]["reports"]} == {"spam"}

    # Seeding twice added nothing twice.
    reports = (await session.exec(select(func.count()).select_from(Report))).one()
    assert reports == 2
    rows = (
        await session.exec(select(Moderation).where(col(Moderation.table_id) == table.id))
    ).all()
    assert len(rows) == 2
    # The held proposal is not shown to others, the reported comment still is.
    listed = (await client.get(f"/v1/tables/{table.id}/proposals?limit=100")).json()["items"]
    assert HELD_PROPOSAL[1] not in {p["title"] for p in listed}
    spam_on = next(p for p in listed if p["title"] == SPAM[1])
    comments = (await client.get(f"/v1/proposals/{spam_on['id']}/comments?limit=100")).json()
    assert SPAM[2] in {c["body"] for c in comments["items"]}
