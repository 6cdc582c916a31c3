"""Service requests (reports, complaints, suggestions) and their Open311 categories.

`services` are an organization's Open311 service categories, `service_attributes` their
extra fields (Open311 service definitions). `service_requests` hold what a reporter
filed: the public part (what GeoReport v2 `GET` shows) and the reporter's personal data
(`email`, names, `phone`, `device_id`, `account_id`, `reporter_id`), which only staff
read and which erasure clears. `service_request_notes` are staff's internal notes, never
public. `open311_api_keys` are the long-lived keys municipal apps send as `api_key`.
"""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import Field, SQLModel

from app.models.base import (
    Instant,
    JsonInt,
    created_at_field,
    fk_field,
    id_field,
    jsonb_field,
    timestamp_field,
    updated_at_field,
)

ServiceType = Literal["realtime", "batch", "blackbox"]
RequestStatus = Literal["open", "closed"]
AttributeDatatype = Literal[
    "string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"
]
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
SERVICE_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
DEFAULT_EXPECTED_DAYS = 30  # the Italian administrative deadline (L. 241/1990, art. 2)
MAX_DESCRIPTION = 4000  # Open311: "may contain up to 4,000 characters"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Service(SQLModel, table=True):
    __tablename__ = "services"
    __table_args__ = (
        UniqueConstraint("organization_id", "service_code"),
        CheckConstraint(_one_of("type", ("realtime", "batch", "blackbox")), name="type"),
        CheckConstraint("expected_days BETWEEN 1 AND 365", name="expected_days"),
    )

    id: uuid.UUID = id_field()
    # Indexed by the (organization_id, service_code) unique constraint.
    organization_id: uuid.UUID = fk_field("organizations.id", index=False)
    service_code: str = Field(sa_column=Column(String(64), nullable=False))
    service_name: str = Field(sa_column=Column(String(200), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    type: str = Field(default="realtime", sa_column=Column(String(16), nullable=False))
    keywords: list[str] = jsonb_field(default=[])
    group: str = Field(default="", sa_column=Column("group", String(200), nullable=False))
    location_required: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    expected_days: int = Field(
        default=DEFAULT_EXPECTED_DAYS, sa_column=Column(SmallInteger, nullable=False)
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ServiceAttribute(SQLModel, table=True):
    __tablename__ = "service_attributes"
    __table_args__ = (
        UniqueConstraint("service_id", "code"),
        CheckConstraint(_one_of("datatype", DATATYPES), name="datatype"),
    )

    id: uuid.UUID = id_field()
    service_id: uuid.UUID = fk_field("services.id", index=False)
    code: str = Field(sa_column=Column(String(64), nullable=False))
    datatype: str = Field(sa_column=Column(String(16), nullable=False))
    required: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    # Open311's `variable`: false for a read-only note shown to the reporter.
    variable: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    order: int = Field(default=0, sa_column=Column("order", SmallInteger, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    datatype_description: str = Field(default="", sa_column=Column(Text, nullable=False))
    # [{"key": "...", "name": "..."}] for the list datatypes.
    values: list[dict[str, str]] = jsonb_field(default=[])


class ServiceRequest(SQLModel, table=True):
    __tablename__ = "service_requests"
    __table_args__ = (
        # The staff queue and Open311 lists: an organization's requests, newest first.
        Index(
            "service_requests_organization_id_created_at_id_idx",
            "organization_id",
            "created_at",
            "id",
        ),
        CheckConstraint(_one_of("status", ("open", "closed")), name="status"),
        CheckConstraint("lat IS NULL OR lat BETWEEN -90 AND 90", name="lat"),
        CheckConstraint("long IS NULL OR long BETWEEN -180 AND 180", name="long"),
    )

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = fk_field("organizations.id", index=False)
    service_id: uuid.UUID = fk_field("services.id", ondelete="RESTRICT")
    status: RequestStatus = Field(default="open", sa_column=Column(String(8), nullable=False))
    status_notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    agency_responsible: str = Field(default="", sa_column=Column(String(200), nullable=False))
    service_notice: str = Field(default="", sa_column=Column(String(500), nullable=False))
    lat: float | None = Field(default=None, sa_column=Column(Double))
    long: float | None = Field(default=None, sa_column=Column("long", Double))
    address: str = Field(default="", sa_column=Column(String(500), nullable=False))
    address_id: str = Field(default="", sa_column=Column(String(100), nullable=False))
    zipcode: str = Field(default="", sa_column=Column(String(20), nullable=False))
    media_url: str = Field(default="", sa_column=Column(String(2000), nullable=False))
    # {attribute code: value or list of values}, as validated against the definition.
    attributes: dict[str, Any] = jsonb_field()
    # For GET tokens/{token}.json; random, unique.
    token: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    expected_datetime: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    closed_at: datetime | None = timestamp_field()
    assigned_to_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    # --- the reporter's personal data: staff only, cleared by erasure ---
    reporter_id: uuid.UUID | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    email: str | None = Field(default=None, sa_column=Column(String(320), index=True))
    first_name: str | None = Field(default=None, sa_column=Column(String(100)))
    last_name: str | None = Field(default=None, sa_column=Column(String(100)))
    phone: str | None = Field(default=None, sa_column=Column(String(50)))
    device_id: str | None = Field(default=None, sa_column=Column(String(200)))
    account_id: str | None = Field(default=None, sa_column=Column(String(200)))
    anonymized_at: datetime | None = timestamp_field()
    # Which Open311 key filed it (null: a signed-in person).
    api_key_id: uuid.UUID | None = fk_field(
        "open311_api_keys.id", nullable=True, ondelete="SET NULL", index=False
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ServiceRequestNote(SQLModel, table=True):
    """An internal note of staff on a request: never in a public response."""

    __tablename__ = "service_request_notes"

    id: uuid.UUID = id_field()
    request_id: uuid.UUID = fk_field("service_requests.id")
    author_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = created_at_field()


class Open311ApiKey(SQLModel, table=True):
    """A long-lived Open311 `api_key` of one organization, stored hashed.

    `api_client_id` will point at the API client (with scope `service_requests:write`)
    of the integrations work once it lands; no foreign key until then."""

    __tablename__ = "open311_api_keys"

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = fk_field("organizations.id")
    key_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    # The first characters of the key, to tell keys apart in lists.
    key_prefix: str = Field(sa_column=Column(String(16), nullable=False))
    label: str = Field(sa_column=Column(String(200), nullable=False))
    api_client_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(UUID(as_uuid=True), nullable=True)
    )
    created_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = timestamp_field()


# --- schemas: staff API (/v1) --------------------------------------------------------


class AttributeValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = PField(min_length=1, max_length=100)
    name: str = PField(min_length=1, max_length=200)


class AttributeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = PField(pattern=SERVICE_CODE_PATTERN)
    datatype: AttributeDatatype
    required: bool = False
    variable: bool = True
    order: JsonInt = PField(default=0, ge=0, le=1000)
    description: str = PField(default="", max_length=2000)
    datatype_description: str = PField(default="", max_length=500)
    values: list[AttributeValue] = PField(default_factory=list, max_length=100)


class ServiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_code: str = PField(pattern=SERVICE_CODE_PATTERN)
    service_name: str = PField(min_length=1, max_length=200)
    description: str = PField(default="", max_length=2000)
    type: ServiceType = "realtime"
    keywords: list[str] = PField(default_factory=list, max_length=50)
    group: str = PField(default="", max_length=200)
    location_required: bool = False
    expected_days: JsonInt = PField(default=DEFAULT_EXPECTED_DAYS, ge=1, le=365)
    attributes: list[AttributeCreate] = PField(default_factory=list, max_length=50)


class AttributePublic(BaseModel):
    code: str
    datatype: AttributeDatatype
    required: bool
    variable: bool
    order: int
    description: str
    datatype_description: str
    values: list[AttributeValue]


class ServicePublic(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    service_code: str
    service_name: str
    description: str
    type: ServiceType
    keywords: list[str]
    group: str
    location_required: bool
    expected_days: int
    attributes: list[AttributePublic]
    created_at: datetime
    updated_at: datetime


class ServiceRequestUpdate(BaseModel):
    """Any of these. `internal_note` adds a note for staff (never public)."""

    model_config = ConfigDict(extra="forbid")

    status: RequestStatus | None = None
    status_notes: str | None = PField(default=None, max_length=MAX_DESCRIPTION)
    agency_responsible: str | None = PField(default=None, max_length=200)
    assigned_to: uuid.UUID | None = None
    expected_datetime: Instant | None = None
    internal_note: str | None = PField(default=None, min_length=1, max_length=MAX_DESCRIPTION)


class NotePublic(BaseModel):
    id: uuid.UUID
    author_id: uuid.UUID | None
    body: str
    created_at: datetime


class ReporterPublic(BaseModel):
    """The reporter's personal data, for staff."""

    reporter_id: uuid.UUID | None
    email: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    device_id: str | None
    account_id: str | None
    anonymized: bool


class ServiceRequestStaff(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    service_code: str
    service_name: str
    status: RequestStatus
    status_notes: str
    description: str
    agency_responsible: str
    service_notice: str
    lat: float | None
    long: float | None
    address: str
    address_id: str
    zipcode: str
    media_url: str
    attributes: dict[str, Any]
    assigned_to: uuid.UUID | None
    expected_datetime: datetime
    overdue: bool
    closed_at: datetime | None
    reporter: ReporterPublic
    notes: list[NotePublic]
    created_at: datetime
    updated_at: datetime


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = PField(min_length=1, max_length=200)


class ApiKeyPublic(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    label: str
    key_prefix: str
    api_client_id: uuid.UUID | None
    created_by_id: uuid.UUID | None
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyIssued(ApiKeyPublic):
    # Shown once, at creation; only its hash is stored.
    api_key: str


# --- schemas: Open311 GeoReport v2 ---------------------------------------------------


class Open311Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: ServiceType
    keywords: str
    group: str


class Open311Attribute(BaseModel):
    variable: bool
    code: str
    datatype: AttributeDatatype
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue]


class Open311Definition(BaseModel):
    service_code: str
    attributes: list[Open311Attribute]


class Open311Request(BaseModel):
    """A request's public status: never the reporter's personal data."""

    service_request_id: str
    status: RequestStatus
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime
    address: str
    address_id: str
    zipcode: str
    lat: float | None
    long: float | None
    media_url: str


class Open311Created(BaseModel):
    service_request_id: str
    token: str
    service_notice: str
    account_id: str | None


class Open311Token(BaseModel):
    service_request_id: str
    token: str


class Open311Error(BaseModel):
    code: int
    description: str


# --- personal data export -------------------------------------------------------------


class ExportServiceRequest(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    service_code: str
    status: RequestStatus
    description: str
    address: str
    lat: float | None
    long: float | None
    email: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    device_id: str | None
    account_id: str | None
    created_at: datetime
