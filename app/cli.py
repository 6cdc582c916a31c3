"""The `consulta` command: serve, worker, migrate, create-admin, seed-demo, import-plan.

Every command talks to the same database as the server: DATABASE_URL when set, else the
embedded PostgreSQL under `.data/` (attached to, if the server is already running).
"""

import argparse
import asyncio
import getpass
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config import PROJECT_ROOT, get_settings
from app.demo.seed import seed_demo
from app.services.accounts.admin import create_platform_admin
from app.services.accounts.people import find_user_by_email
from app.services.imports.plan_import import SYSTEM, Importer, import_plan

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

logger = logging.getLogger("consulta.cli")


def alembic_config(database_url: str | None = None) -> Any:
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    if database_url:
        config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


def migrate(revision: str = "head", database_url: str | None = None) -> None:
    from alembic import command

    from app.db import resolve_database_url

    command.upgrade(alembic_config(database_url or resolve_database_url()), revision)


def _in_transaction(work: Callable[["AsyncSession"], Awaitable[Any]]) -> Any:
    """Run `work(session)` in one committed transaction: the CLI's unit of work."""

    async def main() -> Any:
        from app.db import get_engine, get_sessionmaker

        try:
            async with get_sessionmaker()() as session, session.begin():
                return await work(session)
        finally:
            await get_engine().dispose()

    return asyncio.run(main())


def cmd_migrate(args: argparse.Namespace) -> None:
    migrate(args.revision)
    print(f"database migrated to {args.revision}")


def cmd_create_admin(args: argparse.Namespace) -> None:
    password = args.password or getpass.getpass("Password: ")
    user = _in_transaction(
        lambda session: create_platform_admin(session, args.email, password, args.name)
    )
    print(f"platform admin ready: {user.email} ({user.id})")


def cmd_seed_demo(args: argparse.Namespace) -> None:
    if get_settings().environment == "production":
        sys.exit("seed-demo refuses to run with ENVIRONMENT=production")
    for line in _in_transaction(seed_demo):
        print(line)


def cmd_import_plan(args: argparse.Namespace) -> None:
    import json

    from app.errors import AppError

    try:
        document = json.loads(Path(args.file).read_text("utf-8"))
    except OSError as exc:
        sys.exit(f"error: cannot read {args.file}: {exc.strerror}")
    except json.JSONDecodeError as exc:
        sys.exit(f"error: {args.file} is not valid JSON: {exc}")

    async def work(session: "AsyncSession") -> Any:
        actor: Importer = SYSTEM
        if args.as_email:
            user = await find_user_by_email(session, args.as_email)
            if user is None:
                raise ValueError(f"no account with the email {args.as_email}")
            actor = user
        return await import_plan(session, actor, document)

    try:
        report = _in_transaction(work)
    except AppError as exc:
        faults = [f"  {e.get('pointer', '')}: {e['msg']}" for e in exc.errors or []]
        sys.exit("\n".join([f"error: {exc.detail}", *faults]))
    print(json.dumps(report.model_dump(mode="json"), indent=2))


def _share_metrics(default_dir: Path) -> None:
    """Several server processes: their metrics go through files in
    PROMETHEUS_MULTIPROC_DIR (this default unless set), emptied first, so that each
    process's /metrics answers for all of them (app/metrics.py)."""
    import os

    from app.metrics import MULTIPROC_ENV

    directory = Path(os.environ.get(MULTIPROC_ENV) or default_dir)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.db import resolve_database_url

    settings = get_settings()
    resolve_database_url()  # start/attach the embedded server; exported for the workers
    if args.migrate:
        migrate()
    if args.seed_demo:
        cmd_seed_demo(args)
    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    if workers > 1:
        _share_metrics(settings.data_dir / "metrics")
    print(
        f"Consulta serving on http://{host}:{port} (docs at http://{host}:{port}/docs)", flush=True
    )
    # uvicorn re-raises SIGTERM after its graceful shutdown; turning it into SystemExit lets
    # atexit stop the embedded PostgreSQL instead of leaving it running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_config=None,
        access_log=False,
        # Open live streams never finish by themselves: after this grace they are cut,
        # and their clients resume elsewhere with Last-Event-ID.
        timeout_graceful_shutdown=10,
    )


def cmd_worker(args: argparse.Namespace) -> None:
    from app.db import resolve_database_url
    from app.worker import run_worker
    from app.worker.metrics_server import start_metrics_server

    resolve_database_url()
    stop = asyncio.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        runner = await start_metrics_server(get_settings())
        try:
            await run_worker(stop)
        finally:
            if runner is not None:
                await runner.cleanup()

    print("Consulta worker running (webhook delivery, housekeeping)", flush=True)
    asyncio.run(main())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="consulta", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    serve.add_argument("--seed-demo", action="store_true", help="load the demo data first")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="deliver webhooks and run housekeeping")
    worker.set_defaults(func=cmd_worker)

    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument("revision", nargs="?", default="head")
    mig.set_defaults(func=cmd_migrate)

    admin = sub.add_parser("create-admin", help="create (or promote) a platform admin")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", help="prompted for when omitted")
    admin.add_argument("--name", default="Platform admin")
    admin.set_defaults(func=cmd_create_admin)

    seed = sub.add_parser(
        "seed-demo", help="load the demo organizations, plans and accounts (idempotent)"
    )
    seed.set_defaults(func=cmd_seed_demo)

    imp = sub.add_parser(
        "import-plan",
        help="import a consulta.plan/v1 document (as the system, or --as-email an account)",
    )
    imp.add_argument("file", help="path of the JSON document")
    imp.add_argument("--as-email", help="import with this account's rights")
    imp.set_defaults(func=cmd_import_plan)
    return parser


def main(argv: list[str] | None = None) -> None:
    from app.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, json_logs=False)
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except ValueError as exc:  # validation errors from services, e.g. a weak password
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
