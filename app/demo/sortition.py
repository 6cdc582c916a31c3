"""Demo sortition for Città Metropolitana di Bari: "Panel giovani sorteggiato", a table
of 12 young people (16-35) to be drawn by lot from 60 applicants, with quotas by gender,
age band (from the profile), area and occupation and a published seed. The window has
closed: the organization's admin (`admin.bari@consulta.demo`) can check the quotas and
draw (`POST /v1/tables/{id}/sortition/check`, then `…/draws`). Idempotent: if the table
exists nothing is added. The applicants are `candidato01…60@consulta.demo`.
"""

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.organizations import Organization
from app.models.sortition import ApplicationIn, SortitionConfigIn
from app.models.tables import Eligibility, ParticipationTable, TableCreate
from app.security import hash_password
from app.services.accounts.people import find_user_by_email
from app.services.sortition.applications import apply
from app.services.sortition.config import put_config
from app.services.tables.tables import create_table

ORG = "cm-bari"
SLUG = "panel-giovani"
ADMIN = "admin.bari@consulta.demo"
APPLICANTS = 60
SEED = 20261212

FEATURES: list[dict[str, Any]] = [
    {
        "name": "genere",
        "label": "Genere",
        "values": [
            {"value": "donna", "min": 5, "max": 6},
            {"value": "uomo", "min": 5, "max": 6},
            {"value": "non-binario", "min": 0, "max": 1},
        ],
    },
    {
        "name": "eta",
        "label": "Fascia d'età (dal profilo)",
        "source": "age",
        "values": [
            {"value": "16-20", "age_from": 16, "age_to": 20, "min": 2, "max": 4},
            {"value": "21-25", "age_from": 21, "age_to": 25, "min": 2, "max": 4},
            {"value": "26-30", "age_from": 26, "age_to": 30, "min": 2, "max": 4},
            {"value": "31-35", "age_from": 31, "age_to": 35, "min": 2, "max": 4},
        ],
    },
    {
        "name": "zona",
        "label": "Dove vivi",
        "values": [
            {"value": "bari-citta", "label": "Bari città", "share": 0.4},
            {"value": "provincia", "label": "Altri comuni", "share": 0.6},
        ],
    },
    {
        "name": "occupazione",
        "label": "Occupazione",
        "values": [
            {"value": "studente", "min": 2},
            {"value": "lavoratore", "min": 2},
            {"value": "altro", "min": 1},
        ],
    },
]


def _config(closes_at: datetime) -> SortitionConfigIn:
    return SortitionConfigIn.model_validate(
        {
            "features": FEATURES,
            "number_to_select": 12,
            "applications_open_at": (closes_at - timedelta(days=30)).isoformat(),
            "applications_close_at": closes_at.isoformat(),
            "algorithm": "maximin",
            "seed": SEED,
            "seed_source": "Pubblicato all'apertura delle candidature (demo).",
        }
    )


async def _applicant(session: AsyncSession, i: int, password: str) -> User:
    email = f"candidato{i:02d}@consulta.demo"
    user = await find_user_by_email(session, email)
    if user is None:
        age = 16 + (i * 7) % 20  # every age of 16-35, three times
        user = User(
            email=email,
            display_name=f"Candidato {i}",
            password_hash=password,
            email_verified_at=datetime.now(UTC),
            birth_date=date(datetime.now(UTC).year - age, 1, 1),
        )
        session.add(user)
        await session.flush()
    return user


async def seed_demo_sortition(session: AsyncSession, password: str) -> list[str]:
    org = (
        await session.exec(select(Organization).where(col(Organization.slug) == ORG))
    ).one_or_none()
    admin = await find_user_by_email(session, ADMIN)
    if org is None or admin is None:
        return []
    exists = (
        await session.exec(
            select(ParticipationTable.id).where(
                col(ParticipationTable.organization_id) == org.id,
                col(ParticipationTable.slug) == SLUG,
            )
        )
    ).first()
    if exists is not None:
        return [f"table {ORG}/{SLUG}: present"]
    table, _ = await create_table(
        session,
        admin,
        ORG,
        TableCreate(
            slug=SLUG,
            name={"it": "Panel giovani sorteggiato", "en": "Youth panel drawn by lot"},
            description={
                "it": "Dodici giovani estratti a sorte tra chi si candida, con quote per "
                "genere, età, zona e occupazione, per affiancare il Tavolo Giovani.",
            },
            membership_policy="sortition",
            eligibility=Eligibility(min_age=16, max_age=35),
        ),
    )
    now = datetime.now(UTC)
    await put_config(session, admin, table.id, _config(now + timedelta(days=1)))
    password_hash = hash_password(password)
    rng = random.Random(SEED)  # noqa: S311 (the same demo applicants on every machine)
    for i in range(1, APPLICANTS + 1):
        user = await _applicant(session, i, password_hash)
        declared = {
            "genere": rng.choices(["donna", "uomo", "non-binario"], [48, 48, 4])[0],
            "zona": rng.choices(["bari-citta", "provincia"], [40, 60])[0],
            "occupazione": rng.choices(["studente", "lavoratore", "altro"], [45, 40, 15])[0],
        }
        await apply(session, user, table.id, ApplicationIn(features=declared))
    # The window closes now: ready to draw.
    await put_config(session, admin, table.id, _config(now))
    return [
        f"table {ORG}/{SLUG}: sortition of 12 from {APPLICANTS} applicants, quotas and seed "
        f"published; draw it as {ADMIN}: POST /v1/tables/{table.id}/sortition/draws"
    ]
