"""A real streaming replica of a test's scratch PostgreSQL: `pg_basebackup -R` with the
embedded server's own binaries, then a second postgres on its own socket directory."""

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from tests.servers import ScratchPostgres


def _bin(name: str) -> str:
    from pgserver import _commands

    return str(_commands.POSTGRES_BIN_PATH / name)


class ScratchReplica:
    """A hot standby of `primary`, streaming from it; `url(database)` reaches it."""

    def __init__(self, primary: ScratchPostgres) -> None:
        self.primary = primary
        # Short paths: a Unix socket's path is limited to ~107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="rpl-"))
        self.pgdata = self.root / "data"
        self.socket_dir = self.root
        self.user: str | None = primary.server.system_user
        if self.user is not None:  # running as root: pgserver runs postgres as its own user
            shutil.chown(self.root, self.user, self.user)
        self.root.chmod(0o777)
        self.primary_socket = make_url(primary.server.get_uri()).query["host"]
        self._run(
            _bin("pg_basebackup"),
            "-h",
            str(self.primary_socket),
            "-U",
            "postgres",
            "-D",
            str(self.pgdata),
            "-R",  # standby.signal and primary_conninfo: stream from the primary
            "-X",
            "stream",
            "-c",
            "fast",
        )
        self._pg_ctl(
            "-w",
            "-t",
            "30",
            "-l",
            str(self.root / "log"),
            "-o",
            f"-h '' -k {self.socket_dir}",
            "start",
        )

    def _run(self, *command: str) -> None:
        kwargs: dict[str, Any] = {"user": self.user} if self.user is not None else {}
        subprocess.run(command, check=True, capture_output=True, timeout=60, **kwargs)

    def _pg_ctl(self, *args: str) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.pgdata), *args)

    def url(self, primary_url: str) -> str:
        """The replica's URL for the database `primary_url` names."""
        return (
            make_url(primary_url)
            .set(query={"host": str(self.socket_dir)})
            .render_as_string(hide_password=False)
        )

    def close(self) -> None:
        try:
            self._pg_ctl("-w", "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
