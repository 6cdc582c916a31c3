"""The demo sortition: Bari's youth panel, 60 applicants, quotas and seed published,
the window closed; the organization's admin checks and draws it."""

from sqlmodel import col, select

from app.demo.seed import seed_demo
from app.demo.sortition import APPLICANTS, SLUG
from app.models.tables import ParticipationTable
from app.services.accounts.people import find_user_by_email
from tests.factories import commit_setup, run_draw
from tests.helpers import bearer


async def test_the_demo_panel_is_ready_to_draw_and_draws(client, session):
    report = await seed_demo(session)
    assert any(line.startswith(f"table cm-bari/{SLUG}: sortition") for line in report)
    assert f"table cm-bari/{SLUG}: present" in await seed_demo(session)
    table = (
        await session.exec(select(ParticipationTable).where(col(ParticipationTable.slug) == SLUG))
    ).one()
    admin = await find_user_by_email(session, "admin.bari@consulta.demo")
    assert admin is not None
    await commit_setup(session)

    config = (await client.get(f"/v1/tables/{table.id}/sortition")).json()
    assert config["applications_count"] == APPLICANTS and config["window_open"] is False
    assert config["seed"] is not None and config["seed_published_at"] is not None
    url = f"/v1/tables/{table.id}/sortition"
    check = await client.post(f"{url}/check", headers=bearer(admin))
    assert check.status_code == 200, check.text
    queued = await client.post(f"{url}/draws", headers=bearer(admin))
    assert queued.status_code == 201, queued.text

    draw = await run_draw(session, queued.json()["id"])
    assert draw.status == "done" and len(draw.panel) == 12
    composition = (await client.get(f"{url}/composition")).json()
    assert composition["selected_count"] == 12
    for feature in composition["features"]:
        for value in feature["values"]:
            assert value["min"] <= value["selected"] <= value["max"], value
