"""Integrations: service clients (API clients), webhook endpoints and their deliveries.

The change feed has no table of its own: it reads the event spine (`events`)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField
from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.types import UserDefinedType
from sqlmodel import Field, SQLModel

from app.models.accounts import User
from app.models.base import (
    created_at_field,
    fk_field,
    id_field,
    jsonb_field,
    timestamp_field,
    updated_at_field,
)

Scope = Literal[
    "changes:read", "webhooks:manage", "plans:write", "meetings:write", "service_requests:write"
]
SCOPES: tuple[str, ...] = (
    "changes:read",
    "webhooks:manage",
    "plans:write",
    "meetings:write",
    "service_requests:write",
)


class XID8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (`xid8`); read it as text (`xid::text`)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "xid8"


# So that reflection (alembic check) knows the type.
ischema_names["xid8"] = XID8


@dataclass(frozen=True)
class ClientActor:
    """A service client acting with an access token from the client_credentials grant:
    only inside `organization_id`, only with `scopes`. Not a person: events it causes
    have no `actor_id` and name it in `actor_client_id`."""

    client_id: uuid.UUID
    organization_id: uuid.UUID
    scopes: frozenset[str]
    is_platform_admin: bool = False

    @property
    def id(self) -> None:
        """No person acts: rows that record a person (`created_by_id`) stay empty."""
        return None


# Who acts on the write endpoints that service clients may call too.
Actor = User | ClientActor


def acting_client(actor: Actor | None) -> uuid.UUID | None:
    """The service client acting, if any (events name it in `actor_client_id`)."""
    return actor.client_id if isinstance(actor, ClientActor) else None


def as_person(actor: Actor | None) -> User | None:
    """The person acting, if any: response builders show a client the public view."""
    return actor if isinstance(actor, User) else None


# --- tables ----------------------------------------------------------------------------


class ApiClient(SQLModel, table=True):
    __tablename__ = "api_clients"

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = fk_field("organizations.id")
    name: str = Field(sa_column=Column(String(200), nullable=False))
    scopes: list[str] = jsonb_field(default=[])
    active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true"))
    )
    created_by_id: uuid.UUID | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ApiClientSecret(SQLModel, table=True):
    """A client's secret, hashed; `expires_at` is set when a newer secret replaces it
    (the grace period) and the secret stops working then."""

    __tablename__ = "api_client_secrets"

    id: uuid.UUID = id_field()
    client_id: uuid.UUID = fk_field("api_clients.id")
    secret_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    expires_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = fk_field("organizations.id")
    url: str = Field(sa_column=Column(Text, nullable=False))
    description: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    event_types: list[str] = jsonb_field(default=[])
    active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true"))
    )
    # Why it was switched off by Consulta (`gone`: the receiver answered 410;
    # `failing`: every delivery failed for days); None when active or paused by a person.
    disabled_reason: str | None = Field(default=None, sa_column=Column(String(32)))
    # Since when every delivery attempt has failed (None after any success).
    failing_since: datetime | None = timestamp_field()
    created_by_id: uuid.UUID | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class WebhookSecret(SQLModel, table=True):
    """A signing secret (`whsec_…`). Kept readable, since signing needs it; `expires_at`
    is set on rotation, and until then both signatures are sent."""

    __tablename__ = "webhook_secrets"

    id: uuid.UUID = id_field()
    endpoint_id: uuid.UUID = fk_field("webhook_endpoints.id")
    secret: str = Field(sa_column=Column(String(128), nullable=False))
    expires_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


DeliveryStatus = Literal["pending", "succeeded", "retrying", "failed"]


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: the message (its body frozen when created, so every
    retry sends the same bytes under the same `webhook-id`) and its attempts.

    A worker claims a due delivery by setting `locked_until` (a lease); a claim whose
    lease ran out (a killed worker) is due again."""

    __tablename__ = "webhook_deliveries"

    id: uuid.UUID = id_field()
    endpoint_id: uuid.UUID = fk_field("webhook_endpoints.id", index=False)
    organization_id: uuid.UUID = fk_field("organizations.id", index=False)
    # The event on the spine (or, for `webhook.test`, a fresh id); no foreign key, so
    # that the log outlives the events' retention.
    event_id: uuid.UUID = Field(sa_column=Column(UUID(as_uuid=True), nullable=False))
    type: str = Field(sa_column=Column(String(64), nullable=False))
    body: dict[str, Any] = jsonb_field()
    status: DeliveryStatus = Field(
        default="pending",
        sa_column=Column(String(16), nullable=False, server_default=text("'pending'")),
    )
    attempts: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    next_attempt_at: datetime | None = timestamp_field()
    locked_until: datetime | None = timestamp_field()
    last_status_code: int | None = Field(default=None, sa_column=Column(Integer))
    last_error: str | None = Field(default=None, sa_column=Column(String(200)))
    last_duration_ms: int | None = Field(default=None, sa_column=Column(Integer))
    last_attempt_at: datetime | None = timestamp_field()
    # [{at, status_code, duration_ms, error}], one per attempt.
    log: list[dict[str, Any]] = jsonb_field(default=[])
    created_at: datetime = created_at_field()

    __table_args__ = (
        # The workers' claim query: due deliveries in order.
        Index(
            "webhook_deliveries_due_idx",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'retrying')"),
        ),
        Index("webhook_deliveries_endpoint_id_created_at_idx", "endpoint_id", "created_at", "id"),
    )


class WebhookOutbox(SQLModel, table=True):
    """Where the dispatcher is on the event spine: every event up to (`xid`, `seq`) has
    been turned into deliveries. One row."""

    __tablename__ = "webhook_outbox"

    id: int = Field(default=1, sa_column=Column(Integer, primary_key=True, autoincrement=False))
    last_xid: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0"))
    )
    last_seq: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0"))
    )


# --- schemas ---------------------------------------------------------------------------


class ApiClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = PField(min_length=1, max_length=200)
    scopes: list[Scope] = PField(min_length=1, max_length=len(SCOPES))


class ApiClientUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = PField(default=None, min_length=1, max_length=200)
    scopes: list[Scope] | None = PField(default=None, min_length=1, max_length=len(SCOPES))
    active: bool | None = None


class ApiClientPublic(BaseModel):
    id: uuid.UUID
    client_id: str
    organization_id: uuid.UUID
    name: str
    scopes: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime
    secrets: list["ClientSecretInfo"]


class ClientSecretInfo(BaseModel):
    id: uuid.UUID
    created_at: datetime
    expires_at: datetime | None


class ApiClientWithSecret(ApiClientPublic):
    client_secret: str = PField(description="Shown once; store it now.")


class ClientTokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    scope: str


class ChangeItem(BaseModel):
    id: uuid.UUID
    type: str
    occurred_at: datetime
    subject_type: str
    subject_id: uuid.UUID
    data: dict[str, Any] | None
    deleted: bool = False


class ChangePage(BaseModel):
    items: list[ChangeItem]
    next_cursor: str


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = PField(min_length=8, max_length=2000)
    event_types: list[str] = PField(min_length=1, max_length=50)
    description: str | None = PField(default=None, max_length=500)


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = PField(default=None, min_length=8, max_length=2000)
    event_types: list[str] | None = PField(default=None, min_length=1, max_length=50)
    description: str | None = PField(default=None, max_length=500)
    active: bool | None = None


class WebhookPublic(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookPublic):
    secret: str = PField(description="`whsec_…`: shown once; store it now.")


class DeliveryAttempt(BaseModel):
    at: datetime
    status_code: int | None
    duration_ms: int | None
    error: str | None


class DeliveryPublic(BaseModel):
    id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: uuid.UUID
    type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_duration_ms: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    log: list[DeliveryAttempt]
