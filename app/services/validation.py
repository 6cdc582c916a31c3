"""Shared checks of request fields: text length, nulls in a PATCH, errors raised together,
and translatable text in the organization's default locale.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from app.errors import Unprocessable
from app.models.base import TextMap
from app.models.organizations import Organization

Errors = list[dict[str, Any]]


def check_text(
    errors: Errors, loc: Sequence[str | int], value: Mapping[str, str] | None, locale: str
) -> None:
    """A non-empty text map must contain the organization's default locale."""
    if value and locale not in value:
        errors.append(
            {
                "loc": ["body", *loc],
                "msg": f"needs a text in '{locale}', the organization's default locale",
                "code": "missing_default_locale",
            }
        )


def null_errors(data: Any, fields: Sequence[str]) -> Errors:
    """Fields that were sent as null but cannot be cleared."""
    return [
        {"loc": ["body", field], "msg": "cannot be null", "code": "null"}
        for field in fields
        if field in data.model_fields_set and getattr(data, field) is None
    ]


def raise_if(errors: Errors) -> None:
    if errors:
        n = len(errors)
        raise Unprocessable(
            f"The request has {n} invalid field{'s' if n != 1 else ''}.",
            code="validation_error",
            errors=errors,
        )


Loc = list[str | int]


def require_default_locale(
    org: Organization, fields: Sequence[tuple[Loc, TextMap | None, bool]]
) -> None:
    """Translatable text must include the organization's default locale. `fields` are
    (location, text, required): required text always, other text whenever not empty."""
    locale = org.default_locale
    errors = [
        {
            "loc": [*loc, locale],
            "msg": f"text in the organization's default locale ({locale}) is required",
            "code": "missing_default_locale",
        }
        for loc, value, required in fields
        if value is not None and (value or required) and locale not in value
    ]
    if errors:
        raise Unprocessable(
            f"Translatable text must include the organization's default locale ({locale}).",
            code="missing_default_locale",
            errors=errors,
        )
