"""An organization's moderation settings, kept in `organizations.settings` (JSONB):

* `report_threshold` (1..100, default 3): reports, not dismissed, after which content is
  hidden automatically (read by the reports service through `report_threshold_of`);
* `blocked_words` (≤ 500 words or phrases of 1 to 100 characters): content matching one of
  them goes to pre-moderation (`app/services/guards/content_filter.py`).

Only the organization's admins (and platform admins) read or change them; anyone else
gets a 404. Every change is audited (`organization.moderation_settings_updated`).
"""

from collections.abc import Mapping
from typing import Any

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import NotFound
from app.event_types import EventType
from app.models.accounts import User
from app.models.moderation_settings import (
    ModerationSettingsPublic,
    ModerationSettingsUpdate,
)
from app.models.organizations import Organization
from app.services.access.orgs import (
    ADMINISTERED_ORG_NOT_FOUND,
    admin_organizations,
    get_admin_organization,
)
from app.services.audit.write import record_audit
from app.services.guards.content_filter import fold
from app.services.guards.org_settings import blocked_words_of, report_threshold_of
from app.services.validation import field_error, invalid_fields

AUDIT_ACTION = EventType.ORGANIZATION_MODERATION_SETTINGS_UPDATED


# --- reading the stored values (defensively: the column is free-form JSON) ------------


def _public(settings: Mapping[str, Any] | None) -> ModerationSettingsPublic:
    return ModerationSettingsPublic(
        report_threshold=report_threshold_of(settings),
        blocked_words=blocked_words_of(settings),
    )


# --- the endpoints --------------------------------------------------------------------


async def read_moderation_settings(
    session: AsyncSession, actor: User, org_slug: str
) -> ModerationSettingsPublic:
    org = await get_admin_organization(session, actor, org_slug)
    return _public(org.settings)


def _clean_words(words: list[str]) -> list[str]:
    """Distinct words (by their folded form, first spelling kept); 422 for words that
    are nothing once accents are dropped."""
    errors = [
        field_error(
            ["body", "blocked_words", i],
            "a word needs at least one letter, digit or symbol",
            ErrorCode.INVALID_WORD,
        )
        for i, word in enumerate(words)
        if not fold(word).split()
    ]
    if errors:
        raise invalid_fields(
            errors,
            "Some blocked words are empty once accents are dropped.",
            code=ErrorCode.INVALID_WORD,
        )
    seen: dict[str, str] = {}
    for word in words:
        seen.setdefault(" ".join(fold(word).split()), word)
    return list(seen.values())


async def update_moderation_settings(
    session: AsyncSession, actor: User, org_slug: str, data: ModerationSettingsUpdate
) -> ModerationSettingsPublic:
    sent: dict[str, Any] = data.model_dump(exclude_unset=True)
    nulls = sorted(field for field, value in sent.items() if value is None)
    if nulls:
        raise invalid_fields(
            [field_error(["body", f], "cannot be null", ErrorCode.NULL_NOT_ALLOWED) for f in nulls],
            "These settings cannot be null: " + ", ".join(nulls) + ".",
        )
    org = (
        await session.exec(
            admin_organizations(actor)
            .where(col(Organization.slug) == org_slug)
            .with_for_update(of=Organization)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if org is None:
        raise NotFound(ADMINISTERED_ORG_NOT_FOUND)
    if "blocked_words" in sent:
        sent["blocked_words"] = _clean_words(sent["blocked_words"])
    current = _public(org.settings).model_dump()
    changes = {field: value for field, value in sent.items() if current[field] != value}
    if changes:
        org.settings = {**(org.settings or {}), **changes}
        audit_data: dict[str, Any] = {"fields": sorted(changes)}
        if "report_threshold" in changes:
            audit_data["report_threshold"] = changes["report_threshold"]
        if "blocked_words" in changes:
            audit_data["blocked_words_count"] = len(changes["blocked_words"])
        record_audit(
            session,
            AUDIT_ACTION,
            organization_id=org.id,
            actor_id=actor.id,
            target_type="organization",
            target_id=org.id,
            data=audit_data,
        )
        await session.flush()
    return _public(org.settings)
