"""Organizations (metropolitan cities), their municipalities and role assignments."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, model_validator
from pydantic import Field as PField
from sqlalchemy import Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.accounts import LOCALE_PATTERN
from app.models.base import created_at_field, fk_field, id_field, jsonb_field, updated_at_field

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
# The organization's code in the Indice delle Pubbliche Amministrazioni (IndicePA), e.g.
# `c_e463` or `cmto`: it identifies the publisher and rights holder of its open data.
IPA_CODE_PATTERN = r"^[A-Za-z0-9_]{2,20}$"
IPA_CODE_DESCRIPTION = (
    "The organization's IPA code (IndicePA), naming it as publisher and rights holder in "
    "its open-data catalog (DCAT-AP_IT `dcatapit:Agent`); null until set."
)
OrganizationRoleName = Literal["admin"]
# Roles appointed through /organizations/{org}/roles: organization admins, and
# facilitators of one of the organization's tables (stored as table memberships).
AssignableRole = Literal["admin", "facilitator"]


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"

    id: uuid.UUID = id_field()
    slug: str = Field(sa_column=Column(String(63), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    default_locale: str = Field(default="it", sa_column=Column(String(8), nullable=False))
    ipa_code: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    # Organization-level settings (moderation thresholds, word lists…), validated by services.
    settings: dict[str, Any] = jsonb_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Municipality(SQLModel, table=True):
    """A comune of the organization's area; people may declare one as residence."""

    __tablename__ = "municipalities"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = fk_field("organizations.id")
    name: str = Field(sa_column=Column(String(120), nullable=False))
    istat_code: str | None = Field(default=None, sa_column=Column(String(6), nullable=True))
    created_at: datetime = created_at_field()


class OrganizationRole(SQLModel, table=True):
    __tablename__ = "organization_roles"
    __table_args__ = (UniqueConstraint("organization_id", "user_id", "role"),)

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = fk_field("organizations.id")
    user_id: uuid.UUID = fk_field("users.id")
    role: AssignableRole = Field(sa_column=Column(String(32), nullable=False))
    created_at: datetime = created_at_field()


# --- schemas -------------------------------------------------------------------------


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = PField(pattern=SLUG_PATTERN)
    name: str = PField(min_length=2, max_length=200)
    default_locale: str = PField(default="it", pattern=LOCALE_PATTERN)
    ipa_code: str | None = PField(
        default=None, pattern=IPA_CODE_PATTERN, description=IPA_CODE_DESCRIPTION
    )
    municipalities: list[str] = PField(default_factory=list, max_length=500)


class OrganizationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = PField(default=None, min_length=2, max_length=200)
    default_locale: str | None = PField(default=None, pattern=LOCALE_PATTERN)
    ipa_code: str | None = PField(
        default=None,
        pattern=IPA_CODE_PATTERN,
        description=IPA_CODE_DESCRIPTION + " Null clears it.",
    )


class OrganizationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    name: str
    default_locale: str
    ipa_code: str | None = PField(default=None, description=IPA_CODE_DESCRIPTION)
    municipalities_count: int = 0
    created_at: datetime
    updated_at: datetime


class MunicipalityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = PField(min_length=1, max_length=120)
    istat_code: str | None = PField(default=None, pattern=r"^\d{6}$")


class MunicipalityPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    istat_code: str | None


def _check_table_id(role: str, table_id: uuid.UUID | None) -> None:
    if role == "facilitator" and table_id is None:
        raise ValueError("a facilitator is appointed to a table: give table_id")
    if role != "facilitator" and table_id is not None:
        raise ValueError("table_id only goes with the facilitator role")


class RoleAssign(BaseModel):
    """Name the person by id, or by the email of their account. A facilitator is
    appointed to one of the organization's tables (`table_id`)."""

    model_config = ConfigDict(extra="forbid")

    role: AssignableRole = "admin"
    table_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    email: EmailStr | None = None

    @model_validator(mode="after")
    def _one_person(self) -> "RoleAssign":
        if (self.user_id is None) == (self.email is None):
            raise ValueError("give exactly one of user_id or email")
        _check_table_id(self.role, self.table_id)
        return self


class RoleRevoke(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: AssignableRole = "admin"
    table_id: uuid.UUID | None = None
    user_id: uuid.UUID

    @model_validator(mode="after")
    def _table_for_facilitators(self) -> "RoleRevoke":
        _check_table_id(self.role, self.table_id)
        return self


class RolePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    role: str
    # The table a facilitator runs; null for organization admins.
    table_id: uuid.UUID | None = None
    created_at: datetime = PField(description="Since when the role is held.")
