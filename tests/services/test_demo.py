"""The demo data loads the three metropolitan cities and is idempotent."""

from sqlmodel import col, func, select

from app.models.accounts import User
from app.models.organizations import Municipality, Organization
from app.services.demo import seed_demo


async def _counts(session):
    return (
        (await session.exec(select(func.count()).select_from(Organization))).one(),
        (await session.exec(select(func.count()).select_from(Municipality))).one(),
        (await session.exec(select(func.count()).select_from(User))).one(),
    )


async def test_seed_demo_is_idempotent(session):
    await seed_demo(session)
    first = await _counts(session)
    await seed_demo(session)
    assert await _counts(session) == first
    slugs = set((await session.exec(select(Organization.slug))).all())
    assert {"cm-bari", "cm-milano", "cm-torino"} <= slugs
    bari = (
        await session.exec(select(Organization).where(col(Organization.slug) == "cm-bari"))
    ).one()
    assert bari.name == "Città Metropolitana di Bari"
    bari_municipalities = (
        await session.exec(
            select(func.count())
            .select_from(Municipality)
            .where(col(Municipality.organization_id) == bari.id)
        )
    ).one()
    assert bari_municipalities == 41


async def test_demo_organizations_are_listed(client, session):
    await seed_demo(session)
    slugs = [o["slug"] for o in (await client.get("/v1/organizations?limit=100")).json()["items"]]
    assert {"cm-bari", "cm-milano", "cm-torino"} <= set(slugs)
