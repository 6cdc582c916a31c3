"""Small builders for tests: accounts, organizations, tokens."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.models.accounts import User
from app.models.organizations import Organization, OrganizationRole
from app.security import hash_password

if TYPE_CHECKING:
    from app.models.meetings import Meeting
    from app.models.organizations import Municipality
    from app.models.plans import Plan, PlanNode, PlanStatus
    from app.models.tables import (
        MembershipRole,
        MembershipStatus,
        ParticipationTable,
        TableMembership,
    )

PASSWORD = "correct horse battery staple"
_HASH = hash_password(PASSWORD)


async def make_user(
    session: AsyncSession,
    *,
    email: str | None = None,
    verified: bool = True,
    platform_admin: bool = False,
    name: str = "Test Person",
) -> User:
    user = User(
        email=email or f"user-{uuid.uuid4().hex[:10]}@example.org",
        password_hash=_HASH,
        display_name=name,
        email_verified_at=datetime.now(UTC) if verified else None,
        is_platform_admin=platform_admin,
    )
    session.add(user)
    await session.flush()
    return user


async def make_org(
    session: AsyncSession, *, slug: str | None = None, admin: User | None = None
) -> Organization:
    org = Organization(slug=slug or f"org-{uuid.uuid4().hex[:8]}", name="Test Organization")
    session.add(org)
    await session.flush()
    if admin is not None:
        session.add(OrganizationRole(organization_id=org.id, user_id=admin.id, role="admin"))
        await session.flush()
    return org


async def login(
    client: httpx.AsyncClient, email: str | None, password: str = PASSWORD
) -> dict[str, Any]:
    response = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": email or "", "password": password},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def auth_headers(client: httpx.AsyncClient, user: User) -> dict[str, str]:
    tokens = await login(client, user.email)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    for field in ("type", "title", "status", "detail", "code"):
        assert field in body, f"problem without {field}: {body}"
    assert body["status"] == status
    # Every code the API answers is in the catalogue (app/error_codes.py).
    catalogue = {member.value for member in ErrorCode}
    assert body["code"] in catalogue, f"code not in ErrorCode: {body['code']}"
    for error in body.get("errors") or []:
        assert error["code"] in catalogue, f"field code not in ErrorCode: {error}"
    if code is not None:
        assert body["code"] == code, body
    return body


# --- participation tables and meetings ------------------------------------------------


def bearer(user: User) -> dict[str, str]:
    """Authorization header for `user`, minted directly (no sign-in round trip)."""
    from app.security import create_access_token

    token, _ = create_access_token(user.id)
    return {"Authorization": f"Bearer {token}"}


async def make_municipality(session: AsyncSession, org: Organization, name: str) -> "Municipality":
    from app.models.organizations import Municipality

    municipality = Municipality(organization_id=org.id, name=name)
    session.add(municipality)
    await session.flush()
    return municipality


async def make_plan(
    session: AsyncSession,
    org: Organization,
    *,
    codes: tuple[str, ...] = ("1", "4", "9"),
    status: "PlanStatus" = "approved",
) -> tuple["Plan", dict[str, "PlanNode"]]:
    """A plan with one root node (an axis) per code."""
    from app.models.plans import Plan, PlanNode

    plan = Plan(
        organization_id=org.id,
        slug=f"plan-{uuid.uuid4().hex[:8]}",
        title={"it": "Piano strategico"},
        status=status,
    )
    session.add(plan)
    await session.flush()
    nodes = {}
    for position, code in enumerate(codes):
        node = PlanNode(
            plan_id=plan.id,
            organization_id=org.id,
            code=code,
            kind="axis",
            title={"it": f"Asse {code}"},
            position=position,
            sort_path=f"{position:04d}",
        )
        session.add(node)
        nodes[code] = node
    await session.flush()
    return plan, nodes


async def make_table(
    session: AsyncSession,
    org: Organization,
    *,
    premoderation: bool | None = False,
    **fields: Any,
) -> "ParticipationTable":
    """A public, open table unless `fields` say otherwise (model field names).

    Pre-moderation is switched off explicitly unless asked for (`premoderation=True`) or
    left to the table's default (`premoderation=None`, no settings row): tables admitting
    minors hold new content by default, which only the moderation tests are about."""
    from app.models.tables import ParticipationTable, TableSettings

    fields.setdefault("slug", f"tavolo-{uuid.uuid4().hex[:8]}")
    fields.setdefault("name", {"it": "Tavolo di prova"})
    table = ParticipationTable(organization_id=org.id, **fields)
    session.add(table)
    await session.flush()
    if premoderation is not None:
        session.add(TableSettings(table_id=table.id, premoderation=premoderation))
        await session.flush()
    return table


async def add_member(
    session: AsyncSession,
    table: "ParticipationTable",
    user: User,
    *,
    role: "MembershipRole" = "member",
    status: "MembershipStatus" = "active",
) -> "TableMembership":
    from app.models.tables import TableMembership

    membership = TableMembership(
        table_id=table.id,
        user_id=user.id,
        role=role,
        status=status,
        activated_at=datetime.now(UTC) if status == "active" else None,
    )
    session.add(membership)
    await session.flush()
    return membership


async def let_meeting_begin(session: AsyncSession, meeting_id: Any) -> None:
    """Time passes: the meeting started a minute ago (and ends an hour later)."""
    from sqlalchemy import update

    from app.models.meetings import Meeting

    now = datetime.now(UTC)
    await session.exec(
        update(Meeting)
        .where(col(Meeting.id) == meeting_id)
        .values(starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1))
    )
    await commit_setup(session)


async def make_meeting(
    session: AsyncSession,
    table: "ParticipationTable",
    *,
    starts_at: datetime | None = None,
    hours: float = 2,
    **fields: Any,
) -> "Meeting":
    """A public meeting a week from now unless `fields` say otherwise."""
    from app.models.meetings import Meeting

    starts_at = starts_at or datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    fields.setdefault("title", {"it": "Incontro"})
    fields.setdefault("kind", "public")
    meeting = Meeting(
        table_id=table.id,
        organization_id=table.organization_id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        **fields,
    )
    session.add(meeting)
    await session.flush()
    return meeting


async def commit_setup(session: AsyncSession) -> None:
    """Keep what the builders wrote (a savepoint release in the test's transaction) and
    detach their objects, so a request that fails and rolls back neither undoes the rows
    nor expires the objects the test still reads."""
    await session.commit()
    session.expunge_all()


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    """The token endpoint's refresh_token grant."""
    return await client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )
