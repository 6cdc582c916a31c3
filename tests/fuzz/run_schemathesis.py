"""Schemathesis over the whole API, against a real server and a scratch PostgreSQL.

    .venv/bin/python -m tests.fuzz.run_schemathesis [--max-examples 25] [--seed 1]

It starts a throwaway embedded PostgreSQL, migrates it, loads the demo data, serves the
app with uvicorn on a free loopback port (write limits off, so that the run is not
throttled into 429s), and runs `schemathesis run` twice — anonymous, then signed in as the
demo's platform admin — with a bounded number of examples per operation and the
`not_a_server_error` check (plus the status-code and content-type conformance checks).
It exits non-zero when schemathesis finds a failure; the report is in the output.

The longer run, with the status-code conformance check too; `make test` runs the bounded
one, `tests/fuzz/test_schemathesis.py` (four callers, real objects in every path). Run
this one before a release and after changing request schemas.
"""

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from tests.servers import ScratchPostgres, server_process

DEMO_ADMIN = ("admin@consulta.demo", "consulta-demo-2026")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance"


def _schemathesis() -> str:
    found = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    if not Path(found).exists():
        sys.exit("schemathesis is not installed: pip install -e '.[dev]'")
    return found


def _token(base_url: str) -> str:
    email, password = DEMO_ADMIN
    response = httpx.post(
        f"{base_url}/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": password},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def _run(base_url: str, args: argparse.Namespace, headers: list[str]) -> int:
    command = [
        _schemathesis(),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--phases",
        "examples,coverage,fuzzing",
        *[part for header in headers for part in ("-H", header)],
    ]
    shown = [c if not c.startswith("Authorization") else "Authorization: …" for c in command]
    print("$", " ".join(shown))
    return subprocess.call(command)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="consulta-fuzz-"))
    postgres = ScratchPostgres(tmp / "pg")
    try:
        url = asyncio.run(postgres.create_migrated_database())
        env = {"DATABASE_URL": url, "ENVIRONMENT": "test", "DATA_DIR": str(tmp / "data")}
        subprocess.run(
            [sys.executable, "-m", "app.cli", "seed-demo"],
            check=True,
            env={**os.environ, **env},
        )
        with server_process(url, tmp, WRITE_LIMITS_ENABLED="false") as server:
            anonymous = _run(server.url, args, [])
            admin = _run(server.url, args, [f"Authorization: Bearer {_token(server.url)}"])
            errors = [line for line in server.output().splitlines() if "Traceback" in line]
            print(f"server tracebacks: {len(errors)} (log: {server.log})")
    finally:
        postgres.close()
    sys.exit(1 if anonymous or admin else 0)


if __name__ == "__main__":
    main()
