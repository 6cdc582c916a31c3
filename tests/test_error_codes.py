"""The error-code catalogue (`app/error_codes.py`) is the only source of `code`s.

Checked on the source (an AST walk): no string literal where a code goes in `app/` —
`code=` keywords, `code = …` class attributes, `{"code": …}` in error dicts, and the
`code` argument of the helpers that build problems and field errors. A failure names the
file and line; the fix is `ErrorCode.<MEMBER>` (adding the member, with its meaning, if
the code is new).
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpx import AsyncClient

from app.error_codes import ErrorCode, field_code
from app.errors import Unprocessable
from app.services.validation import invalid, reject_nulls

APP = Path(__file__).resolve().parent.parent / "app"
# Functions whose argument at this position is a code.
CODE_ARGUMENTS = {
    "field_error": 2,
    "body_error": 2,
    "body_error_at": 2,
    "invalid": 2,
    "_invalid": 2,
    "fault": 2,
    "Fault": 2,
    "fail": 1,
    "problem_response": 1,
    "_problem": 1,
    "_send_problem": 2,
}


def _code_values(tree: ast.AST) -> Iterator[ast.expr]:
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "code":
            yield node.value
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "code" for t in targets) and node.value:
                yield node.value
        elif isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            if "code" in keys and "msg" in keys:
                yield node.values[keys.index("code")]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            position = CODE_ARGUMENTS.get(name)
            if position is not None and len(node.args) > position:
                yield node.args[position]


def _literals(value: ast.expr) -> Iterator[ast.Constant | ast.JoinedStr]:
    if isinstance(value, ast.IfExp):
        yield from _literals(value.body)
        yield from _literals(value.orelse)
    elif isinstance(value, ast.JoinedStr) or (
        isinstance(value, ast.Constant) and isinstance(value.value, str)
    ):
        yield value


def string_codes(source: str, where: str) -> list[str]:
    tree = ast.parse(source)
    return sorted(
        f"{where}:{literal.lineno} code {ast.unparse(literal)}: use ErrorCode"
        for value in _code_values(tree)
        for literal in _literals(value)
    )


def test_no_string_codes_in_app() -> None:
    found = [
        spot
        for path in sorted(APP.rglob("*.py"))
        if path.name != "error_codes.py" and "demo" not in path.parts
        for spot in string_codes(path.read_text("utf-8"), path.relative_to(APP.parent).as_posix())
    ]
    assert found == []


def test_the_check_finds_string_codes() -> None:
    source = (
        'raise Conflict("x", code="slug_taken")\ne = {"loc": [], "msg": "m", "code": f"a{1}"}\n'
    )
    assert string_codes(source, "app/x.py") == [
        "app/x.py:1 code 'slug_taken': use ErrorCode",
        "app/x.py:2 code f'a{1}': use ErrorCode",
    ]


def test_every_code_has_a_meaning_and_a_unique_value() -> None:
    values = [member.value for member in ErrorCode]
    assert len(values) == len(set(values))
    for member in ErrorCode:
        assert member.value == member.name.lower(), member
        assert member.meaning.strip(), f"{member.name} needs a meaning"


@pytest.mark.parametrize(
    ("pydantic_type", "code"),
    [
        ("missing", "required"),
        ("string_too_long", "too_long"),
        ("too_short", "too_short"),
        ("int_type", "invalid_type"),
        ("uuid_parsing", "invalid_format"),
        ("literal_error", "invalid_choice"),
        ("greater_than_equal", "out_of_range"),
        ("extra_forbidden", "unknown_field"),
        ("json_invalid", "invalid_json"),
        ("something_new", "invalid_value"),
    ],
)
def test_pydantic_error_types_map_onto_the_vocabulary(pydantic_type: str, code: str) -> None:
    assert field_code(pydantic_type) == code


def test_one_helper_answers_nulls_and_single_fields() -> None:
    with pytest.raises(Unprocessable) as raised:
        reject_nulls({"title": None, "body": "x", "premoderation": None}, allowed={"premoderation"})
    assert raised.value.code == "validation_error"
    assert raised.value.errors == [
        {"loc": ["body", "title"], "msg": "cannot be null", "code": "null_not_allowed"}
    ]
    error = invalid(["body", "ends_at"], "ends too early", ErrorCode.ENDS_BEFORE_START)
    assert (error.code, error.detail, error.errors) == (
        "ends_before_start",
        "ends too early",
        [{"loc": ["body", "ends_at"], "msg": "ends too early", "code": "ends_before_start"}],
    )


async def test_request_validation_answers_the_vocabulary(client: AsyncClient) -> None:
    response = await client.post("/v1/auth/register", json={"email": 3})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    codes = {tuple(e["loc"]): e["code"] for e in body["errors"]}
    assert codes[("body", "email")] == "invalid_type"
    assert codes[("body", "password")] == "required"


async def test_the_openapi_description_lists_every_code(client: AsyncClient) -> None:
    description = (await client.get("/openapi.json")).json()["info"]["description"]
    for member in ErrorCode:
        assert f"| `{member.value}` | {member.meaning} |" in description
