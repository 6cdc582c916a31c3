"""The demo data loads the three metropolitan cities and is idempotent."""

from sqlmodel import col, func, select

from app.demo.seed import seed_demo
from app.models.accounts import User
from app.models.organizations import Municipality, Organization


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


async def test_nothing_looks_updated_before_it_was_created(session):
    # The demo creates organizations and tables and changes them in the same transaction:
    # an update is stamped with the time of the change, not of the transaction's start.
    from app.models.tables import ParticipationTable

    await seed_demo(session)
    await session.flush()
    for model in (Organization, ParticipationTable):
        backwards = (
            await session.exec(
                select(func.count())
                .select_from(model)
                .where(col(model.updated_at) < col(model.created_at))
            )
        ).one()
        assert backwards == 0, model.__name__
    changed = (
        await session.exec(
            select(func.count())
            .select_from(Organization)
            .where(col(Organization.updated_at) > col(Organization.created_at))
        )
    ).one()
    assert changed >= 1  # Bari's blocked words were set after it was created
