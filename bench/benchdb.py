"""Where the benchmark databases live, and the scales they are generated at.

`consulta_bench_<scale>` on `DATABASE_URL`'s server when it is set, otherwise on the
embedded PostgreSQL under `DATA_DIR/pg` (`.data/pg`, the one `make run` uses)."""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app.config import get_settings
from app.embedded_pg import embedded_server_url

PASSWORD = "bench-password-2026"  # every generated person's password


@dataclass(frozen=True)
class Scale:
    name: str
    people: int
    tables: int
    proposals: int
    hot_proposals: int  # of `proposals`, in the hot table
    supports: int
    comments: int
    events: int
    memberships: int


SCALES = {
    "small": Scale("small", 2_000, 20, 20_000, 10_000, 100_000, 40_000, 20_000, 2_000),
    # The open-data export's target (bench/open_data.py): 100 000 proposals, 1 000 000
    # comments.
    "medium": Scale("medium", 10_000, 50, 100_000, 50_000, 500_000, 1_000_000, 50_000, 5_000),
    "large": Scale(
        "large", 50_000, 200, 1_000_000, 500_000, 5_000_000, 2_000_000, 1_000_000, 20_000
    ),
}


def database_name(scale: str) -> str:
    return f"consulta_bench_{scale}"


def server_url() -> str:
    """A libpq URL of the server's maintenance database (`postgres`)."""
    configured = get_settings().database_url
    if configured:
        parts = urlsplit(configured.replace("postgresql+asyncpg://", "postgresql://", 1))
        return urlunsplit(parts._replace(path="/postgres"))
    return embedded_server_url(get_settings().data_dir / "pg")


def database_url(scale: str) -> str:
    """libpq URL of the scale's database on the same server."""
    name = database_name(scale)
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(name)
    parts = urlsplit(server_url())
    return urlunsplit(parts._replace(path=f"/{name}"))


async def database_exists(scale: str) -> bool:
    conn = await asyncpg.connect(server_url())
    try:
        found = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", database_name(scale)
        )
    finally:
        await conn.close()
    return bool(found)
