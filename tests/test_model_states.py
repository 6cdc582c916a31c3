"""Domain states are typed on the table columns, not only on the API schemas: a table's
status, kind, role, visibility… is a `Literal` (the database column stays a string), so
mypy refuses an unknown state anywhere a row is built or changed."""

import types
from typing import Literal, Union, get_args, get_origin

from sqlmodel import SQLModel

import app.models  # noqa: F401 (registers every table)

STATE_FIELDS = {
    "status",
    "kind",
    "role",
    "moderation_status",
    "visibility",
    "membership_policy",
    "answer_state",
    "results_visibility",
    "supports",
    "hidden_by",
}
# Free-form on purpose: a plan node's kind is the plan's own vocabulary (its `levels`).
FREE_FORM = {("PlanNode", "kind")}


def _is_literal(annotation: object) -> bool:
    if get_origin(annotation) is Literal:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return bool(members) and all(_is_literal(a) for a in members)
    return False


def test_state_columns_are_literals() -> None:
    tables = [m.class_ for m in SQLModel._sa_registry.mappers]
    checked = [
        (table.__name__, name)
        for table in tables
        for name in table.model_fields
        if name in STATE_FIELDS and (table.__name__, name) not in FREE_FORM
    ]
    assert ("Proposal", "moderation_status") in checked and len(checked) >= 15, checked
    untyped = sorted(
        f"{table.__module__}.{table.__name__}.{name}: {field.annotation}"
        for table in tables
        for name, field in table.model_fields.items()
        if name in STATE_FIELDS
        and (table.__name__, name) not in FREE_FORM
        and not _is_literal(field.annotation)
    )
    assert untyped == []
