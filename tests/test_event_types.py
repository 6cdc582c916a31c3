"""The event-type catalogue (`app/event_types.py`) names every event of the spine.

Checked on the source: every `record_event` / `record_audit` call passes its type as an
`EventType` member (`EventType.X`, a conditional between members, or a variable that
mypy checks is an `EventType`), never a string, an f-string or a concatenation. A
failure names the file and line. The README documents every type.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

from app.event_types import EventType

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
RECORDERS = {"record_event", "record_audit"}


def _is_member(node: ast.expr) -> bool:
    if isinstance(node, ast.IfExp):
        return _is_member(node.body) and _is_member(node.orelse)
    if isinstance(node, ast.Attribute):
        return isinstance(node.value, ast.Name) and node.value.id == "EventType"
    # A parameter, variable or lookup: its type is checked by mypy (`EventType`).
    return isinstance(node, ast.Name | ast.Subscript)


def _type_argument(call: ast.Call) -> ast.expr | None:
    if len(call.args) > 1:
        return call.args[1]
    for keyword in call.keywords:
        if keyword.arg in ("type", "action"):
            return keyword.value
    return None


def unlisted_types(source: str, where: str) -> Iterator[str]:
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name not in RECORDERS:
            continue
        argument = _type_argument(node)
        if argument is None or not _is_member(argument):
            shown = ast.unparse(argument) if argument is not None else "nothing"
            yield f"{where}:{node.lineno} {name}({shown}): pass an EventType member"


def test_every_recorded_event_type_is_a_catalogue_member() -> None:
    found = [
        spot
        for path in sorted(APP.rglob("*.py"))
        for spot in unlisted_types(path.read_text("utf-8"), path.relative_to(ROOT).as_posix())
    ]
    assert found == []


def test_the_check_finds_strings_and_f_strings() -> None:
    source = (
        'record_event(s, "user.registered", subject_type="user")\n'
        'record_audit(s, f"moderation.{action}", organization_id=None)\n'
        "record_event(s, EventType.USER_REGISTERED, subject_type='user')\n"
        "record_audit(s, EventType.A if x else EventType.B)\n"
    )
    assert list(unlisted_types(source, "app/x.py")) == [
        "app/x.py:1 record_event('user.registered'): pass an EventType member",
        "app/x.py:2 record_audit(f'moderation.{action}'): pass an EventType member",
    ]


def test_every_type_has_a_meaning_and_a_matching_name() -> None:
    values = [member.value for member in EventType]
    assert len(values) == len(set(values))
    for member in EventType:
        assert member.name == member.value.upper().replace(".", "_"), member
        assert member.meaning.strip(), f"{member.name} needs a meaning"


def test_the_readme_documents_every_type() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    missing = [m.value for m in EventType if f"| `{m.value}` | {m.meaning} |" not in readme]
    assert missing == [], "regenerate the README table: EventType.table('type')"
