"""Real processes for the tests that need them: a uvicorn server on a free loopback port,
and a scratch embedded PostgreSQL that a test owns, stops and starts."""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from app.cli import migrate
from app.config import PROJECT_ROOT
from tests.dbutil import create_database, new_database_name


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _wait_until_up(server: ServerProcess, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{server.output()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not start:\n{server.output()}")


@contextmanager
def server_process(
    database_url: str, tmp: Path, workers: int = 1, /, **settings: str
) -> Iterator[ServerProcess]:
    """`uvicorn app.main:create_app` bound to `database_url`, with `settings` as extra
    environment variables (and `workers` worker processes); stopped (killed if need be)
    on exit."""
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp / "data"),
        "MAIL_DIR": str(tmp / "mail"),
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "false",
        **settings,
    }
    log = tmp / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                *(["--workers", str(workers)] if workers > 1 else []),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_up(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def worker_process(
    database_url: str, tmp: Path, **settings: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`consulta worker` bound to `database_url`, with `settings` as extra environment
    variables; stopped (killed if need be) on exit. Its output goes to tmp/worker-*.log."""
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp / "data"),
        "MAIL_DIR": str(tmp / "mail"),
        "LOG_LEVEL": "WARNING",
        "WORKER_POLL_SECONDS": "0.1",
        **settings,
    }
    log = tmp / f"worker-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class ScratchPostgres:
    """An embedded PostgreSQL of the test's own (not the suite's shared one), with one
    migrated database, that the test may stop and start."""

    def __init__(self, pgdata: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

            pgdata.mkdir(parents=True, exist_ok=True)
            self.server: Any = pgserver.get_server(pgdata, cleanup_mode="delete")  # type: ignore[attr-defined]
        self.pgdata = pgdata
        self.database_url = ""

    async def create_migrated_database(self) -> str:
        self.database_url = await create_database(self.server.get_uri(), new_database_name())
        await asyncio.to_thread(migrate, "head", self.database_url)
        return self.database_url

    def _pg_ctl(self, *args: str) -> None:
        from pgserver import _commands

        pg_ctl = getattr(_commands, "pg_ctl")  # noqa: B009  (made at import, unseen by mypy)
        pg_ctl(list(args), pgdata=self.pgdata, user=self.server.system_user, timeout=30)

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        """Start again, on the same socket, so the URL stays valid."""
        self.server.ensure_postgres_running()

    def close(self) -> None:
        self.server.cleanup()


@contextmanager
def scratch_postgres() -> Iterator[ScratchPostgres]:
    """A ScratchPostgres in a directory of its own, outside pytest's temporary tree:
    any pytest run starting on the machine resets that tree's root to mode 0700, which
    would lock the server's own system user out of its data directory mid-test."""
    directory = Path(tempfile.mkdtemp(prefix="consulta-scratch-pg-"))
    postgres = ScratchPostgres(directory / "pg")
    try:
        yield postgres
    finally:
        postgres.start()  # a stopped server is not cleaned up by pgserver
        postgres.close()
        shutil.rmtree(directory, ignore_errors=True)


async def truncate_all(engine: Any) -> None:
    """Empty every table (after a test that committed, e.g. through a server process)."""
    from sqlalchemy import text

    from app.db import metadata

    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with engine.begin() as conn:
        # audit_log refuses TRUNCATE through a trigger; replica mode skips triggers (the
        # test database's owner is a superuser).
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text(f"TRUNCATE {tables} CASCADE"))
