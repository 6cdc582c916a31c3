"""Checks of a `consulta.plan/v1` document, before anything is written.

JSON Schema (Draft 2020-12, `app/data/plans/plan.schema.json`) first, then the rules a
schema cannot state: unique node codes, the organization's default locale in every text
map, dates that parse, periods and phases that do not end before they start, sizes.
Every fault is reported at once, each with an RFC 6901 pointer to the bad place
(`/plan/nodes/3/children/1/title`) and the same place as a `loc` list.
"""

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from app.error_codes import ErrorCode
from app.models.accounts import LOCALE_PATTERN
from app.models.plans import (
    DESCRIPTION_MAX,
    KIND_MAX,
    MAX_DEPTH,
    MAX_NODES,
    RESULT_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
)
from app.services.validation import field_error

Path = tuple[str | int, ...]
_LOCALE = re.compile(LOCALE_PATTERN)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Fault:
    path: Path
    msg: str
    code: ErrorCode

    @property
    def pointer(self) -> str:
        return to_pointer(self.path)

    def as_error(self) -> dict[str, Any]:
        return {**field_error(["body", *self.path], self.msg, self.code), "pointer": self.pointer}


def to_pointer(path: Sequence[str | int]) -> str:
    """RFC 6901: `("plan", "nodes", 3, "title")` -> `/plan/nodes/3/title`."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


@lru_cache
def plan_schema() -> dict[str, Any]:
    text = resources.files("app").joinpath("data/plans/plan.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


@lru_cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(plan_schema())


# --- JSON Schema -----------------------------------------------------------------------

_TYPE_NAMES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _schema_faults(error: ValidationError) -> Iterator[Fault]:
    path: Path = tuple(error.absolute_path)
    instance: Any = error.instance
    value: Any = error.validator_value
    match error.validator:
        case "required":
            for name in value:
                if isinstance(instance, dict) and name not in instance:
                    yield Fault((*path, name), "is required", ErrorCode.REQUIRED)
        case "additionalProperties":
            schema: Any = error.schema
            allowed = set(schema.get("properties", {}))
            for name in instance if isinstance(instance, dict) else ():
                if name not in allowed:
                    yield Fault(
                        (*path, name), "is not a field of this object", ErrorCode.UNKNOWN_FIELD
                    )
        case "type":
            names = [value] if isinstance(value, str) else list(value)
            expected = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
            yield Fault(path, f"must be {expected}", ErrorCode.INVALID_TYPE)
        case "enum":
            yield Fault(
                path, f"must be one of: {', '.join(map(str, value))}", ErrorCode.INVALID_CHOICE
            )
        case "const":
            yield Fault(path, f"must be {json.dumps(value)}", ErrorCode.INVALID_VALUE)
        case "minLength":
            yield Fault(path, "must not be empty", ErrorCode.TOO_SHORT)
        case "maxLength":
            yield Fault(path, f"must be at most {value} characters", ErrorCode.TOO_LONG)
        case "minProperties":
            yield Fault(path, "must not be empty", ErrorCode.TOO_SHORT)
        case "pattern":
            yield Fault(path, f"must match the pattern {value}", ErrorCode.INVALID_FORMAT)
        case _:
            yield Fault(path, error.message[:200], ErrorCode.INVALID_VALUE)


def schema_faults(document: Any) -> list[Fault]:
    faults: list[Fault] = []
    for error in _validator().iter_errors(document):
        faults.extend(_schema_faults(error))
    return faults


# --- rules beyond the schema ---------------------------------------------------------


class _Checker:
    """Walks the document defensively: values of the wrong type were already reported by
    the schema and are skipped here."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.faults: list[Fault] = []

    def fault(self, path: Path, msg: str, code: ErrorCode) -> None:
        self.faults.append(Fault(path, msg, code))

    def text(self, value: Any, path: Path, max_length: int) -> None:
        if not isinstance(value, dict) or not value:
            return
        for key, text in value.items():
            if not _LOCALE.match(key):
                self.fault(
                    (*path, key), "is not a locale code such as it or en", ErrorCode.INVALID_LOCALE
                )
            if isinstance(text, str):
                if not text.strip():
                    self.fault((*path, key), "must not be blank", ErrorCode.BLANK)
                elif len(text) > max_length:
                    self.fault(
                        (*path, key), f"must be at most {max_length} characters", ErrorCode.TOO_LONG
                    )
        if self.locale not in value:
            self.fault(
                path,
                f"needs a text in '{self.locale}', the organization's default locale",
                ErrorCode.MISSING_DEFAULT_LOCALE,
            )

    def parse_date(self, value: Any, path: Path) -> date | None:
        if not isinstance(value, str):
            return None
        try:
            if not _DATE.match(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.fault(path, "must be a date written YYYY-MM-DD", ErrorCode.INVALID_DATE)
            return None

    def not_before(self, start: date | None, end: date | None, path: Path, what: str) -> None:
        if start is not None and end is not None and end < start:
            self.fault(
                path, f"{what} ends ({end}) before it starts ({start})", ErrorCode.ENDS_BEFORE_START
            )

    def organization(self, org: Any, expected_locale: str | None) -> None:
        if not isinstance(org, dict):
            return
        name = org.get("name")
        if isinstance(name, str) and not 2 <= len(name.strip()) <= 200:
            self.fault(
                ("organization", "name"), "must be 2 to 200 characters", ErrorCode.INVALID_LENGTH
            )
        locale = org.get("default_locale")
        if isinstance(locale, str):
            if not _LOCALE.match(locale):
                self.fault(
                    ("organization", "default_locale"),
                    "is not a locale code such as it or en",
                    ErrorCode.INVALID_LOCALE,
                )
            elif expected_locale is not None and locale != expected_locale:
                self.fault(
                    ("organization", "default_locale"),
                    f"differs from the organization's default locale '{expected_locale}'",
                    ErrorCode.LOCALE_MISMATCH,
                )
        municipalities = org.get("municipalities")
        if isinstance(municipalities, list):
            for i, m in enumerate(municipalities):
                if isinstance(m, str) and not 1 <= len(m.strip()) <= 120:
                    self.fault(
                        ("organization", "municipalities", i),
                        "must be 1 to 120 characters",
                        ErrorCode.INVALID_LENGTH,
                    )

    def plan(self, plan: Any) -> None:
        if not isinstance(plan, dict):
            return
        self.text(plan.get("title"), ("plan", "title"), TITLE_MAX)
        self.text(plan.get("summary"), ("plan", "summary"), SUMMARY_MAX)
        if "approved_on" in plan:
            self.parse_date(plan["approved_on"], ("plan", "approved_on"))
        period = plan.get("period")
        if isinstance(period, dict):
            start = self.parse_date(period.get("start"), ("plan", "period", "start"))
            end = self.parse_date(period.get("end"), ("plan", "period", "end"))
            self.not_before(start, end, ("plan", "period", "end"), "the period")
        phases = plan.get("phases")
        if isinstance(phases, list):
            for i, phase in enumerate(phases):
                if not isinstance(phase, dict):
                    continue
                where: Path = ("plan", "phases", i)
                self.text(phase.get("name"), (*where, "name"), TITLE_MAX)
                start = self.parse_date(phase.get("starts_on"), (*where, "starts_on"))
                end = self.parse_date(phase.get("ends_on"), (*where, "ends_on"))
                self.not_before(start, end, (*where, "ends_on"), "the phase")
        levels = plan.get("levels")
        if isinstance(levels, list):
            if len(levels) > MAX_DEPTH:
                self.fault(
                    ("plan", "levels"), f"may name at most {MAX_DEPTH} levels", ErrorCode.TOO_LONG
                )
            for i, level in enumerate(levels):
                if isinstance(level, str) and not 1 <= len(level.strip()) <= KIND_MAX:
                    self.fault(
                        ("plan", "levels", i),
                        f"must be 1 to {KIND_MAX} characters",
                        ErrorCode.INVALID_LENGTH,
                    )
        nodes = plan.get("nodes")
        if isinstance(nodes, list):
            seen: dict[str, Path] = {}
            count = self.nodes(nodes, ("plan", "nodes"), 1, seen)
            if count > MAX_NODES:
                self.fault(
                    ("plan", "nodes"),
                    f"a plan has at most {MAX_NODES} nodes; this one has {count}",
                    ErrorCode.TOO_MANY_NODES,
                )

    def nodes(self, nodes: list[Any], path: Path, depth: int, seen: dict[str, Path]) -> int:
        count = 0
        for i, node in enumerate(nodes):
            if not isinstance(node, dict):
                continue
            count += 1
            where: Path = (*path, i)
            if depth > MAX_DEPTH:
                self.fault(where, f"nodes nest at most {MAX_DEPTH} levels deep", ErrorCode.TOO_DEEP)
                continue
            code = node.get("code")
            if isinstance(code, str):
                if code != code.strip() or not code:
                    self.fault(
                        (*where, "code"),
                        "must not start or end with spaces",
                        ErrorCode.INVALID_CODE,
                    )
                elif code in seen:
                    self.fault(
                        (*where, "code"),
                        f"duplicate code '{code}' (first used at {to_pointer(seen[code])})",
                        ErrorCode.DUPLICATE_CODE,
                    )
                else:
                    seen[code] = (*where, "code")
            kind = node.get("kind")
            if isinstance(kind, str) and not 1 <= len(kind.strip()) <= KIND_MAX:
                self.fault(
                    (*where, "kind"), f"must be 1 to {KIND_MAX} characters", ErrorCode.INVALID_KIND
                )
            self.text(node.get("title"), (*where, "title"), TITLE_MAX)
            self.text(node.get("summary"), (*where, "summary"), SUMMARY_MAX)
            self.text(node.get("description"), (*where, "description"), DESCRIPTION_MAX)
            results = node.get("expected_results")
            if isinstance(results, list):
                for j, result in enumerate(results):
                    self.text(result, (*where, "expected_results", j), RESULT_MAX)
            children = node.get("children")
            if isinstance(children, list):
                count += self.nodes(children, (*where, "children"), depth + 1, seen)
        return count


def _sort_key(fault: Fault) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in fault.path)


def check_document(
    document: Any, *, default_locale: str, organization_locale: str | None = None
) -> list[Fault]:
    """Every fault of the document, in document order (empty when it may be imported).

    `default_locale` is the locale every text map must contain; `organization_locale` is
    the existing organization's (None when the document would create it)."""
    faults = schema_faults(document)
    if isinstance(document, dict):
        checker = _Checker(default_locale)
        checker.organization(document.get("organization"), organization_locale)
        checker.plan(document.get("plan"))
        faults += checker.faults
    unique = list(dict.fromkeys(faults))
    return sorted(unique, key=_sort_key)


def declared_locale(document: Any) -> str:
    """The default locale the document declares for a new organization (`it` if none)."""
    org = document.get("organization") if isinstance(document, dict) else None
    locale = org.get("default_locale") if isinstance(org, dict) else None
    return locale if isinstance(locale, str) and _LOCALE.match(locale) else "it"
