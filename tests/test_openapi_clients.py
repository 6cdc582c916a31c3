"""Clients generated from the live document work without a workaround.

openapi-python-client generates `consulta_client` from `app.openapi()` (failing on any
warning); `tests/sdk/participant_journey.py`, written against it, passes `mypy --strict`
and drives a real server on loopback: register, verify, sign in, list, join, propose,
support, comment."""

import email
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from app.db import get_sessionmaker
from app.main import create_app
from app.models.comments import Comment
from app.models.proposals import Proposal, ProposalSupport
from tests.factories import make_scene
from tests.servers import server_process, truncate_all

SDK = Path(__file__).parent / "sdk"
BIN = Path(sys.executable).parent
# JSON Lines (open data) and SVG (opinion maps) are media types the generator does not
# know: read them as bytes.
CONFIG = {
    "post_hooks": [],
    "package_name_override": "consulta_client",
    "content_type_overrides": {
        "application/jsonl": "application/octet-stream",
        "image/svg+xml": "application/octet-stream",
    },
}


def generate_python_client(where: Path) -> Path:
    """`consulta_client` generated into `where`; returns `where`."""
    spec = where / "openapi.json"
    spec.write_text(json.dumps(create_app().openapi()))
    config = where / "config.json"
    config.write_text(json.dumps(CONFIG))
    result = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(spec),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(where / "consulta_client"),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout
    return where


@pytest.fixture(scope="module")
def python_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    where = generate_python_client(tmp_path_factory.mktemp("sdk"))
    sys.path.insert(0, str(where))
    try:
        yield where
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m.split(".")[0] in ("consulta_client", "journey")]:
            del sys.modules[name]


def test_the_usage_file_type_checks_against_the_generated_client(python_client):
    shutil.copy(SDK / "participant_journey.py", python_client / "journey.py")
    (python_client / "mypy.ini").write_text("[mypy]\nstrict = true\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "journey.py"],
        cwd=python_client,
        env={**os.environ, "MYPYPATH": str(python_client)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
async def scene(engine: Any) -> AsyncIterator[Any]:
    """A committed scene the server process sees; every table emptied after."""
    async with get_sessionmaker()() as session:
        built = await make_scene(session)
        await session.commit()
    yield built
    await truncate_all(engine)


def _token_from_mail(mail_dir: Path, to: str) -> str:
    files = sorted(p for p in mail_dir.glob("*.eml") if to.lower() in p.name.lower())
    assert files, f"no email for {to} in {mail_dir}"
    message = email.message_from_bytes(files[-1].read_bytes())
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    match = re.search(r"token: (\S+)", body)
    assert match, body
    return match.group(1)


async def test_a_participant_journey_with_the_generated_client(
    python_client, scene, database_url, engine, tmp_path
):
    sdk_journey = importlib.import_module("tests.sdk.participant_journey")
    address = "lucia.bianchi@example.org"
    with server_process(database_url, tmp_path) as server:
        outcome = await _in_thread(
            sdk_journey.journey,
            server.url,
            scene.org.slug,
            address,
            "una password abbastanza lunga",
            lambda to: _token_from_mail(tmp_path / "mail", to),
        )
    assert outcome["supported"] == scene.content.proposal.id
    assert outcome["proposal"] in outcome["listed"]
    assert outcome["comment"] in outcome["comments"]
    assert outcome["supports_count"] == 1
    assert outcome["next_cursor"] is None
    assert set(outcome["public"]) == set(outcome["listed"])
    async with engine.connect() as conn:
        mine = (
            await conn.execute(select(Proposal).where(col(Proposal.id) == outcome["proposal"]))
        ).one()
        assert mine.author_id == outcome["me"] and mine.status == "published"
        supports = (
            await conn.execute(
                select(ProposalSupport).where(
                    col(ProposalSupport.proposal_id) == outcome["supported"]
                )
            )
        ).all()
        assert [s.user_id for s in supports] == [outcome["me"]]
        comment = (
            await conn.execute(select(Comment).where(col(Comment.id) == outcome["comment"]))
        ).one()
        assert comment.author_id == outcome["me"] and comment.alignment == "in_favor"


async def _in_thread(function: Any, *args: Any) -> Any:
    """The generated client's `sync` functions block: run them off the event loop."""
    import asyncio

    return await asyncio.to_thread(function, *args)


TS = Path(__file__).parent / "ts"


def _run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_typescript_usage_file_compiles_against_the_generated_types(tmp_path):
    """openapi-typescript types + openapi-fetch (tests/ts, installed by `make install`):
    tests/ts/usage.ts passes `tsc --strict`. `--default-non-nullable false`: a field with
    a default stays optional in request bodies."""
    tools = TS / "node_modules" / ".bin"
    assert (tools / "tsc").exists(), "run `make install` (npm ci in tests/ts)"
    (tmp_path / "openapi.json").write_text(json.dumps(create_app().openapi()))
    for name in ("usage.ts", "tsconfig.json"):
        shutil.copy(TS / name, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(TS / "node_modules")
    _run(
        [
            str(tools / "openapi-typescript"),
            "openapi.json",
            "--output",
            "schema.d.ts",
            "--default-non-nullable",
            "false",
        ],
        tmp_path,
    )
    assert "export interface paths" in (tmp_path / "schema.d.ts").read_text()
    _run([str(tools / "tsc"), "-p", "tsconfig.json"], tmp_path)
