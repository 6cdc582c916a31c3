"""An erased account's row: kept (ids of what stays authorless point at it), emptied of
everything that identifies the person, its sessions ended."""

from datetime import datetime

from app.models.accounts import User

DELETED_DISPLAY_NAME = "Partecipante rimosso"


def anonymize_account(locked: User, now: datetime) -> None:
    locked.email = None
    locked.email_verified_at = None
    locked.password_hash = None
    locked.display_name = DELETED_DISPLAY_NAME
    locked.birth_date = None
    locked.municipality_id = None
    locked.is_platform_admin = False
    locked.guardian_consent_at = None
    locked.guardian_consent_by_id = None
    locked.deleted_at = now
    locked.tokens_invalid_before = now
    locked.updated_at = now
