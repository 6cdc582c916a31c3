"""An organization's moderation settings (request and response schemas; the values live
in `organizations.settings`, see `app/services/moderation/settings.py`)."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PField

from app.models.base import JsonInt
from app.models.moderation import DEFAULT_REPORT_THRESHOLD

REPORT_THRESHOLD_MIN, REPORT_THRESHOLD_MAX = 1, 100
BLOCKED_WORDS_MAX = 500
BLOCKED_WORD_MAX = 100

BlockedWord = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=BLOCKED_WORD_MAX)
]


class ModerationSettingsPublic(BaseModel):
    report_threshold: int = PField(
        default=DEFAULT_REPORT_THRESHOLD,
        description="Reports (not dismissed) after which content is hidden automatically.",
    )
    blocked_words: list[str] = PField(
        default_factory=list,
        description="Words and phrases that send content to pre-moderation instead of "
        "publishing it: matched case- and accent-insensitively, as whole words.",
    )


class ModerationSettingsUpdate(BaseModel):
    """Only the fields sent change; `blocked_words` replaces the whole list."""

    model_config = ConfigDict(extra="forbid")

    report_threshold: JsonInt | None = PField(
        default=None, ge=REPORT_THRESHOLD_MIN, le=REPORT_THRESHOLD_MAX
    )
    blocked_words: list[BlockedWord] | None = PField(default=None, max_length=BLOCKED_WORDS_MAX)
