"""Demo participatory budget for Città Metropolitana di Bari: "Bilancio partecipativo
2027" with two areas (the comuni of Bari and Altamura), a dozen costed projects (ten
feasible, two not), cumulative-cost voting counted with the Method of Equal Shares, in its
voting phase today, with some ballots already cast by demo residents.

Everything goes through the services (events, audit, secrecy as the API would produce).
Idempotent: if the process exists nothing is added. `residente.bari@consulta.demo` has
not voted yet, to try `PUT /v1/budgets/{id}/ballot` in `/docs`.
"""

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.budget_schemas import (
    AreaCreate,
    BallotPut,
    BudgetCreate,
    BudgetEligibility,
    BudgetUpdate,
    Phases,
    ProjectCreate,
    ProjectUpdate,
    Voting,
)
from app.models.budgets import Budget
from app.models.organizations import Municipality, Organization
from app.security import hash_password
from app.services.accounts.people import find_user_by_email
from app.services.budgets.areas import create_area
from app.services.budgets.ballots import put_ballot
from app.services.budgets.processes import create_budget, update_budget
from app.services.budgets.projects import create_project, update_project
from app.services.plans.plans import today_in_rome

ORG = "cm-bari"
SLUG = "bilancio-partecipativo-2027"
ADMIN = "admin.bari@consulta.demo"
TRY_IT = "residente.bari@consulta.demo"
EURO = 100  # cents
# (comune, amount in euro, [(title, cost in euro, feasible)])
AREAS: tuple[tuple[str, int, tuple[tuple[str, int, bool], ...]], ...] = (
    (
        "Bari",
        300_000,
        (
            ("Pista ciclabile sul lungomare di San Girolamo", 180_000, True),
            ("Parco giochi inclusivo a Japigia", 90_000, True),
            ("Biblioteca di quartiere al Libertà", 120_000, True),
            ("Alberi e ombra in piazza Umberto", 60_000, True),
            ("Campo di basket al San Paolo", 45_000, True),
            ("Sala prove musicale per giovani", 70_000, True),
            ("Funivia Bari-Torre a Mare", 2_500_000, False),
        ),
    ),
    (
        "Altamura",
        150_000,
        (
            ("Orto urbano condiviso nel centro storico", 40_000, True),
            ("Illuminazione del parco di via Bari", 55_000, True),
            ("Navetta per la stazione nei giorni festivi", 70_000, True),
            ("Rifacimento del murale di piazza Duomo", 25_000, True),
            ("Nuovo palazzetto dello sport", 900_000, False),
        ),
    ),
)
VOTERS_PER_AREA = 12


def _phases(today: date, voting_now: bool) -> Phases:
    shift = 0 if voting_now else 30  # before: everything a month later
    d = [today + timedelta(days=n + shift) for n in (-60, -41, -40, -21, -20, 20, 21, 40, 41)]
    return Phases.model_validate(
        {
            "proposals": {"starts_on": d[0], "ends_on": d[1]},
            "evaluation": {"starts_on": d[2], "ends_on": d[3]},
            "voting": {"starts_on": d[4], "ends_on": d[5]},
            "results": {"starts_on": d[6], "ends_on": d[7]},
            "implementation": {"starts_on": d[8], "ends_on": d[8] + timedelta(days=365)},
        }
    )


async def _resident(
    session: AsyncSession, email: str, name: str, municipality: Municipality, password_hash: str
) -> User:
    user = await find_user_by_email(session, email)
    if user is None:
        user = User(
            email=email,
            display_name=name,
            password_hash=password_hash,
            email_verified_at=datetime.now(UTC),
            birth_date=date(1990, 3, 15),
            municipality_id=municipality.id,
        )
        session.add(user)
        await session.flush()
    return user


async def seed_demo_budgets(session: AsyncSession, password: str) -> list[str]:
    org = (
        await session.exec(select(Organization).where(col(Organization.slug) == ORG))
    ).one_or_none()
    admin = await find_user_by_email(session, ADMIN)
    if org is None or admin is None:
        return []
    exists = (
        await session.exec(
            select(Budget.id).where(col(Budget.organization_id) == org.id, col(Budget.slug) == SLUG)
        )
    ).first()
    if exists is not None:
        return [f"budget {ORG}/{SLUG}: present"]
    today = today_in_rome()
    budget = await create_budget(
        session,
        admin,
        ORG,
        BudgetCreate(
            slug=SLUG,
            title={"it": "Bilancio partecipativo 2027", "en": "Participatory budget 2027"},
            description={
                "it": "Proponi, scegli e segui i progetti finanziati nel tuo comune.",
                "en": "Propose, choose and follow the funded projects in your comune.",
            },
            phases=_phases(today, voting_now=False),
            voting=Voting(method="cumulative_cost", min_spend_percent=50, counting="equal_shares"),
            eligibility=BudgetEligibility(min_age=16),
        ),
    )
    password_hash = hash_password(password)
    rng = random.Random(2027)  # noqa: S311 (the same demo ballots on every machine)
    ballots: list[tuple[User, list[uuid.UUID]]] = []
    for comune, amount, projects in AREAS:
        municipality = (
            await session.exec(
                select(Municipality).where(
                    col(Municipality.organization_id) == org.id, col(Municipality.name) == comune
                )
            )
        ).one()
        area = await create_area(
            session,
            admin,
            budget.id,
            AreaCreate(name=comune, municipality_ids=[municipality.id], amount=amount * EURO),
        )
        feasible = []
        for title, cost, ok in projects:
            project = await create_project(
                session,
                admin,
                budget.id,
                ProjectCreate(title={"it": title}, area_id=area.id, cost=cost * EURO),
            )
            report = "Fattibile: costo verificato dagli uffici." if ok else "Oltre il budget."
            await update_project(
                session,
                admin,
                project.id,
                ProjectUpdate(
                    feasibility="feasible" if ok else "unfeasible",
                    feasibility_report={"it": report},
                ),
            )
            if ok:
                feasible.append((project.id, cost))
        slug = comune.lower()
        for i in range(1, VOTERS_PER_AREA + 1):
            voter = await _resident(
                session,
                f"votante{i:02d}.{slug}@consulta.demo",
                f"Votante {i} ({comune})",
                municipality,
                password_hash,
            )
            rng.shuffle(feasible)
            chosen: list[uuid.UUID] = []
            spent = 0
            for pid, cost in feasible:
                if spent + cost <= amount:
                    chosen.append(pid)
                    spent += cost
            if spent * 100 >= amount * 50:
                ballots.append((voter, chosen))
        if comune == "Bari":
            await _resident(session, TRY_IT, "Residente di Bari", municipality, password_hash)
    await update_budget(
        session, admin, budget.id, BudgetUpdate(phases=_phases(today, voting_now=True))
    )
    for voter, chosen in ballots:
        await put_ballot(session, voter, budget.id, BallotPut(project_ids=chosen))
    return [
        f"budget {ORG}/{SLUG}: created, 2 areas, 12 projects, {len(ballots)} ballots, voting "
        f"open; try it as {TRY_IT} (password {password})"
    ]
