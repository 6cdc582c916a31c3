"""Settings, read from the environment (and `.env`), one cached instance per process."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-0123456789"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


# `consulta serve` runs one uvicorn worker per CPU this process may use, at most this many
# (each worker holds up to DB_POOL_SIZE + DB_MAX_OVERFLOW connections: 4 x 20 stays under
# PostgreSQL's default max_connections of 100).
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """The default `WORKERS`: the CPUs available to this process, 1 to 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_WORKERS))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    environment: Literal["development", "test", "production"] = "development"
    # Empty means: start (or attach to) the embedded PostgreSQL under `data_dir`.
    database_url: str = ""
    data_dir: Path = PROJECT_ROOT / ".data"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    # How long a request waits for a pooled connection before it answers 503
    # `service_busy` (with Retry-After) instead of queueing without bound.
    db_pool_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # PostgreSQL's statement_timeout on the app's connections: a runaway query (or one
    # stuck behind a lock) is cancelled and answers 503 `database_timeout`, rather than
    # holding a connection and a worker. 0 turns it off.
    database_statement_timeout_ms: int = Field(default=15000, ge=0)
    # Streaming replicas GET requests may read from, comma-separated PostgreSQL URLs
    # (app/replicas.py: nobody misses their own write). Empty: every read on the primary.
    database_replica_urls: str = ""

    secret_key: str = DEV_SECRET_KEY
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    access_token_minutes: int = Field(default=15, ge=1, le=60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    email_token_hours: int = Field(default=48, ge=1)
    password_reset_minutes: int = Field(default=60, ge=5)

    # Failed sign-ins allowed per window: per account from one client address (slows a
    # guesser without locking the owner out from elsewhere), per account from anywhere (a
    # much higher ceiling against distributed guessing), per client address.
    login_window_seconds: int = 900
    login_max_failures_per_account_address: int = Field(default=5, ge=1)
    login_max_failures_per_account: int = Field(default=100, ge=1)
    login_max_failures_per_address: int = Field(default=50, ge=1)

    # Abuse limits on writes (app/write_limits.py): fixed windows counted in PostgreSQL,
    # shared by every worker; each write counts once per person and once per client
    # address, and past either limit answers 429. 0 turns that one limit off. Per-address
    # limits are generous: a school or a meeting room puts a whole class behind one NAT.
    write_limits_enabled: bool = True
    write_limit_proposals_per_person: int = Field(default=10, ge=0)
    write_limit_proposals_per_address: int = Field(default=120, ge=0)
    write_limit_proposals_window_seconds: int = Field(default=3600, ge=1)
    write_limit_comments_per_person: int = Field(default=30, ge=0)
    write_limit_comments_per_address: int = Field(default=600, ge=0)
    write_limit_comments_window_seconds: int = Field(default=600, ge=1)
    write_limit_reports_per_person: int = Field(default=20, ge=0)
    write_limit_reports_per_address: int = Field(default=200, ge=0)
    write_limit_reports_window_seconds: int = Field(default=3600, ge=1)
    # Supports and poll ballots.
    write_limit_supports_per_person: int = Field(default=300, ge=0)
    write_limit_supports_per_address: int = Field(default=3000, ge=0)
    write_limit_supports_window_seconds: int = Field(default=600, ge=1)

    # Reads (GET, HEAD) per caller (token subject, else client address) per window
    # (app/read_limits.py): counted in each process's memory, approximate (N processes
    # allow up to N times as many); past it 429. 0 turns it off.
    read_limit_per_caller: int = Field(default=1200, ge=0)
    read_limit_window_seconds: int = Field(default=60, ge=1)
    # `Cache-Control: public, max-age=` of anonymous public data: iCalendar feeds, open
    # data (app/conventions.py).
    public_max_age_seconds: int = Field(default=300, ge=0)

    # Idempotency-Key records: kept this long; an unfinished claim is taken over after
    # the lease (the first request died before storing its response).
    idempotency_hours: int = Field(default=24, ge=24)
    idempotency_lease_seconds: int = Field(default=60, ge=5)
    # Test hooks (app/db.py `crash_if_asked`): honoured only when ENVIRONMENT=test.
    test_crash_hooks: bool = False

    # Outgoing mail anyone may trigger (app/mail_limits.py): password resets and
    # verification resends per recipient and per client address (past either: still 202,
    # nothing sent); registrations per client address (past it: 429).
    mail_limit_per_recipient: int = Field(default=5, ge=1)
    mail_limit_per_address: int = Field(default=50, ge=1)
    mail_limit_window_seconds: int = Field(default=3600, ge=1)
    registration_limit_per_address: int = Field(default=30, ge=1)
    registration_limit_window_seconds: int = Field(default=600, ge=1)

    # Integrations (app/services/integrations/): a rotated client secret keeps working
    # this long; the change feed promises this much history (an older cursor is 410).
    api_client_secret_grace_hours: int = Field(default=24, ge=0)
    change_feed_retention_days: int = Field(default=90, ge=90)
    # Webhooks: private, loopback and link-local targets are refused unless this is true.
    webhook_allow_private_targets: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=30)
    webhook_secret_grace_hours: int = Field(default=24, ge=0)
    # An endpoint whose every attempt has failed this long is disabled.
    webhook_disable_after_hours: int = Field(default=120, ge=1)
    # The worker (`consulta worker`): how often it looks for work when idle, and how long
    # a claimed delivery stays its own before another worker may take it over.
    worker_poll_seconds: float = Field(default=0.2, gt=0, le=60)
    worker_lease_seconds: int = Field(default=60, ge=15)
    # Run the worker inside `consulta serve` (default: in development only).
    worker_in_process: bool | None = None
    # Opinion maps: the worker recomputes a conversation's map at most this often (votes
    # in between are coalesced into the next computation).
    conversation_map_seconds: float = Field(default=5.0, gt=0, le=3600)

    mail_backend: Literal["file", "smtp"] = "file"
    mail_dir: Path | None = None  # default: <data_dir>/mail
    mail_from: str = "Consulta <no-reply@consulta.local>"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    # Where links in emails point (the front end that completes verification and reset).
    public_url: str = "http://127.0.0.1:8000"

    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Plan documents (POST /v1/plans/import) may be larger than other bodies.
    max_import_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # Open data (public): how long caches may keep the catalog and the datasets
    # (`Cache-Control: public, max-age=`); they revalidate with `If-None-Match` after.
    open_data_max_age_seconds: int = Field(default=300, ge=0)
    # Live sessions (app/services/live/): a heartbeat comment on idle streams; the
    # reconnection delay suggested to clients (`retry:`); how many messages a slow client
    # may fall behind before its stream is dropped (it resumes with Last-Event-ID); how
    # often the presence is refreshed and pushed; at most one results update per poll per
    # interval; how long a stream ticket stays valid.
    live_heartbeat_seconds: float = Field(default=15, gt=0)
    live_retry_ms: int = Field(default=3000, ge=0)
    live_queue_size: int = Field(default=256, ge=1)
    live_presence_seconds: float = Field(default=5, gt=0)
    live_results_interval: float = Field(default=0.25, gt=0)
    live_ticket_seconds: int = Field(default=60, ge=1)
    # Prometheus metrics (app/metrics.py): GET /metrics answers only with
    # `Authorization: Bearer <METRICS_TOKEN>`; empty turns it off (404). The worker
    # (`consulta worker`) serves its own on WORKER_METRICS_PORT (0: off), same token.
    metrics_token: str = ""
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    log_level: str = "INFO"
    log_json: bool = True
    workers: int = Field(default_factory=default_workers, ge=1)
    host: str = "127.0.0.1"
    port: int = 8000

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production":
            if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
                raise ValueError(
                    "SECRET_KEY must be set to a random value of at least 32 characters "
                    "outside development (e.g. `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))'`)"
                )
            if not self.database_url:
                raise ValueError("DATABASE_URL must be set in production")
            if self.metrics_token and len(self.metrics_token) < 32:
                raise ValueError(
                    "METRICS_TOKEN must be a random value of at least 32 characters "
                    "outside development (or empty, which turns /metrics off)"
                )
        return self

    @property
    def replica_urls(self) -> list[str]:
        return [url.strip() for url in self.database_replica_urls.split(",") if url.strip()]

    @property
    def runs_worker_in_process(self) -> bool:
        if self.worker_in_process is None:
            return self.environment == "development"
        return self.worker_in_process

    @property
    def resolved_mail_dir(self) -> Path:
        return self.mail_dir or self.data_dir / "mail"


@lru_cache
def get_settings() -> Settings:
    return Settings()
