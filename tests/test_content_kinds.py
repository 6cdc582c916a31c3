"""The content-kind registry (`app/services/access/kinds.py`) is the one dispatch on
"which kind of content": the API's target types agree with it, every kind the queue shows
has a loader, and no service tests a target type against a kind's name (a failure names
the file and line: look the kind up with `kind_of` and use what it declares).
"""

import ast
from pathlib import Path
from typing import get_args

from app.models.comments import CommentTargetType
from app.models.moderation import ModerationTargetType, ReportTargetType
from app.services.access.kinds import KINDS, kind_names
from app.services.moderation.contents import LOADERS
from app.services.moderation.status import CONTENT_STATUSES

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "app" / "services"
REGISTRY = SERVICES / "access" / "kinds.py"


def test_the_api_target_types_are_the_registry_kinds() -> None:
    assert set(get_args(CommentTargetType)) == set(kind_names(takes_comments=True))
    assert set(get_args(ReportTargetType)) == set(kind_names(reportable=True)) | set(
        kind_names(person=True)
    )
    # Moderators act on what can be reported, on thread hosts (locks) and on people; a kind
    # that only takes comments (budget projects) is moderated through its comments.
    moderated = (
        set(kind_names(reportable=True))
        | set(kind_names(lockable=True))
        | set(kind_names(person=True))
    )
    assert set(get_args(ModerationTargetType)) == moderated
    assert set(LOADERS) == moderated, "give the new kind a loader in moderation/contents.py"


def test_what_each_kind_declares_is_consistent() -> None:
    for kind in KINDS.values():
        assert kind.person or kind.find is not None, kind.name
        if kind.statuses:
            assert kind.status_column is not None and "visible" in kind.statuses, kind.name
            assert kind.status is not None
        if kind.counted_in_host:
            assert kind.statuses, kind.name
    assert CONTENT_STATUSES == {
        "proposal": ("visible", "hidden", "pending"),
        "comment": ("visible", "hidden", "pending"),
        "meeting": ("visible", "hidden"),
        "question": ("visible", "hidden", "pending"),
        "statement": ("visible", "hidden", "pending"),
    }


def _names_target_type(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id.endswith("target_type")
    if isinstance(node, ast.Attribute):
        return node.attr.endswith("target_type") and isinstance(node.value, ast.Name)
    return False


def kind_dispatches(source: str, where: str) -> list[str]:
    """`target_type == "proposal"` (or `in (...)`) and `match target_type: case "…"`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            constants = [
                c.value
                for side in sides
                for c in (side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side])
                if isinstance(c, ast.Constant)
            ]
            if any(_names_target_type(s) for s in sides) and set(constants) & set(KINDS):
                found.append((node.lineno, f"{where}:{node.lineno} {ast.unparse(node)}"))
        elif isinstance(node, ast.Match) and _names_target_type(node.subject):
            found.append((node.lineno, f"{where}:{node.lineno} match {ast.unparse(node.subject)}"))
    return [text for _, text in sorted(found)]


def test_no_service_dispatches_on_kind_names() -> None:
    found = [
        spot
        for path in sorted(SERVICES.rglob("*.py"))
        if path != REGISTRY
        for spot in kind_dispatches(path.read_text("utf-8"), path.relative_to(ROOT).as_posix())
    ]
    assert found == []


def test_the_check_finds_dispatches() -> None:
    source = (
        'if data.target_type == "proposal":\n    pass\n'
        'if target_type in ("poll", "meeting"):\n    pass\n'
        "match target_type:\n    case _:\n        pass\n"
        'x = col(Comment.target_type) == "proposal"\n'
    )
    assert kind_dispatches(source, "app/x.py") == [
        "app/x.py:1 data.target_type == 'proposal'",
        "app/x.py:3 target_type in ('poll', 'meeting')",
        "app/x.py:5 match target_type",
    ]
