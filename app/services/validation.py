"""Field errors raised by hand, one helper each: a single invalid field (`invalid`),
several gathered and raised together (`raise_if`), nulls in a PATCH (`null_errors`,
`reject_nulls`), text checks and translatable text in the organization's default
locale.

Every field error a service raises is built here (through `app.errors.field_error`), with
a code of `ErrorCode`, the one vocabulary shared with the request validation handler
(`required`, `null_not_allowed`, `invalid_type`, `too_long`, `blank`…).
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app.error_codes import ErrorCode
from app.errors import FieldError, Unprocessable, field_error
from app.models.base import TextMap
from app.models.organizations import Organization

Errors = list[FieldError]
Loc = list[str | int]

__all__ = [
    "Errors",
    "FieldError",
    "Loc",
    "body_error",
    "check_text",
    "field_error",
    "invalid",
    "invalid_fields",
    "null_errors",
    "raise_if",
    "reject_nulls",
    "require_default_locale",
]


def body_error(field: str | int, msg: str, code: ErrorCode) -> FieldError:
    """A field error on `body.<field>`."""
    return field_error(["body", field], msg, code)


def invalid(
    loc: Sequence[str | int], msg: str, code: ErrorCode, *, detail: str | None = None
) -> Unprocessable:
    """422 for one invalid field whose mistake is the problem's `code` too; `detail`
    defaults to `msg`."""
    return Unprocessable(
        detail or msg,
        code=code,
        errors=[field_error(loc, msg, code)],
    )


def invalid_fields(
    errors: Sequence[FieldError], detail: str | None = None, *, code: ErrorCode | None = None
) -> Unprocessable:
    """422 for several invalid fields: `validation_error` unless the caller names a code."""
    n = len(errors)
    return Unprocessable(
        detail or f"The request has {n} invalid field{'s' if n != 1 else ''}.",
        code=code or ErrorCode.VALIDATION_ERROR,
        errors=errors,
    )


def raise_if(errors: Errors) -> None:
    if errors:
        raise invalid_fields(errors)


def check_text(
    errors: Errors, loc: Sequence[str | int], value: Mapping[str, str] | None, locale: str
) -> None:
    """A non-empty text map must contain the organization's default locale."""
    if value and locale not in value:
        errors.append(
            body_error_at(
                loc,
                f"needs a text in '{locale}', the organization's default locale",
                ErrorCode.MISSING_DEFAULT_LOCALE,
            )
        )


def body_error_at(loc: Sequence[str | int], msg: str, code: ErrorCode) -> FieldError:
    """A field error at `body.<loc…>`."""
    return field_error(["body", *loc], msg, code)


def null_errors(data: Any, fields: Sequence[str]) -> Errors:
    """Fields of a pydantic model that were sent as null but cannot be cleared."""
    return [
        body_error(field, "cannot be null", ErrorCode.NULL_NOT_ALLOWED)
        for field in fields
        if field in data.model_fields_set and getattr(data, field) is None
    ]


def reject_nulls(sent: Mapping[str, Any], allowed: Iterable[str] = ()) -> None:
    """422 `validation_error` with one `null_not_allowed` per field of `sent` (the
    fields a PATCH sent) that is null, except those in `allowed`."""
    keep = set(allowed)
    nulls = sorted(field for field, value in sent.items() if value is None and field not in keep)
    if nulls:
        raise invalid_fields(
            [body_error(field, "cannot be null", ErrorCode.NULL_NOT_ALLOWED) for field in nulls],
            f"{', '.join(nulls)} cannot be null.",
        )


def require_default_locale(
    org: Organization, fields: Sequence[tuple[Loc, TextMap | None, bool]]
) -> None:
    """Translatable text must include the organization's default locale. `fields` are
    (location, text, required): required text always, other text whenever not empty."""
    locale = org.default_locale
    errors = [
        field_error(
            [*loc, locale],
            f"text in the organization's default locale ({locale}) is required",
            ErrorCode.MISSING_DEFAULT_LOCALE,
        )
        for loc, value, required in fields
        if value is not None and (value or required) and locale not in value
    ]
    if errors:
        raise invalid_fields(
            errors,
            f"Translatable text must include the organization's default locale ({locale}).",
            code=ErrorCode.MISSING_DEFAULT_LOCALE,
        )
