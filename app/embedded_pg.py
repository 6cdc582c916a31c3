"""The embedded PostgreSQL used when no DATABASE_URL is configured.

`pgserver` ships the server binaries as a wheel, so a newcomer needs no system install.
Several processes may attach to the same data directory: the server keeps running while
any of them lives (pgserver counts the attached pids), so the CLI works beside `make run`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DATABASE_NAME = "consulta"
_servers: dict[Path, Any] = {}


def _forget_dead_processes(pgdata: Path) -> None:
    """pgserver stops the server when the last attached process exits, but a process that
    was killed never detaches; drop such pids so the server is stopped when it should be."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _is_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _server(pgdata: Path, cleanup_mode: str | None) -> Any:
    pgdata = pgdata.resolve()
    if pgdata not in _servers:
        _forget_dead_processes(pgdata)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            import pgserver

            pgdata.mkdir(parents=True, exist_ok=True)
            logger.info("starting embedded PostgreSQL in %s", pgdata)
            _servers[pgdata] = pgserver.get_server(  # type: ignore[attr-defined]
                pgdata, cleanup_mode=cleanup_mode
            )
    return _servers[pgdata]


def embedded_server_url(pgdata: Path, *, cleanup_mode: str | None = "stop") -> str:
    """Start (or attach to) the server in `pgdata`; return a libpq URL for its `postgres` db."""
    return str(_server(pgdata, cleanup_mode).get_uri())


def embedded_database_url(pgdata: Path, database: str = DATABASE_NAME) -> str:
    """URL of `database` in the embedded server, created on first use."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", database):
        raise ValueError(f"unsafe database name {database!r}")
    server = _server(pgdata, "stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return str(server.get_uri(database))
