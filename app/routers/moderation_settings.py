"""An organization's moderation settings: /v1/organizations/{org}/moderation/settings."""

from fastapi import APIRouter

from app.db import SessionDep
from app.deps import CurrentUser
from app.models.moderation_settings import ModerationSettingsPublic, ModerationSettingsUpdate
from app.services.moderation import settings as moderation_settings

router = APIRouter(prefix="/v1/organizations", tags=["moderation"])


@router.get(
    "/{org}/moderation/settings",
    response_model=ModerationSettingsPublic,
    summary="The organization's moderation settings: report threshold and blocked words "
    "(organization admins)",
)
async def read_moderation_settings(
    session: SessionDep, user: CurrentUser, org: str
) -> ModerationSettingsPublic:
    return await moderation_settings.read_moderation_settings(session, user, org)


@router.patch(
    "/{org}/moderation/settings",
    response_model=ModerationSettingsPublic,
    summary="Change the organization's moderation settings (organization admins)",
    description="`report_threshold` (1 to 100): reports after which content is hidden "
    "automatically. `blocked_words` (up to 500 words or phrases of 1 to 100 characters) "
    "replaces the whole list: new or edited proposals and comments containing one of them "
    "(whole words, ignoring case and accents) wait for a moderator's approval instead of "
    "being published. Only the fields sent change; every change is in the audit log.",
)
async def update_moderation_settings(
    session: SessionDep, user: CurrentUser, org: str, body: ModerationSettingsUpdate
) -> ModerationSettingsPublic:
    return await moderation_settings.update_moderation_settings(session, user, org, body)
