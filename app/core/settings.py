"""One settings class for the whole app, read from the environment and `.env`."""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent

# The push services browsers use: Google (Chrome, Edge on Android, most Android browsers),
# Mozilla (Firefox), Apple (Safari on macOS and iOS), Microsoft (Edge on Windows). With the
# allow-list on, a push endpoint's host must be one of these or a subdomain of one.
DEFAULT_PUSH_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    "push.services.mozilla.com",
    "push.apple.com",
    "notify.windows.com",
)


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_prefix="BETWEEN_")

    environment: Environment = Environment.development
    # DATABASE_URL, HOST and PORT are read without the prefix: they are what
    # operators and PaaS platforms already set.
    database_url: str = Field(default="", validation_alias="DATABASE_URL")
    host: str = Field(default="127.0.0.1", validation_alias="HOST")
    port: int = Field(default=8000, validation_alias="PORT")
    data_dir: Path = PROJECT_ROOT / "data"
    secret_key: str = ""
    base_url: str = ""
    default_locale: str = "en"

    therapist_session_days: int = 14
    client_session_days: int = 365
    invite_hours: int = 72
    signin_max_attempts: int = 5
    signin_window_seconds: int = 900
    invite_max_attempts: int = 10
    invite_window_seconds: int = 900
    # Open sign-up: accounts asked for per address, and emails sent to one address
    # (verification links, "you already have an account" notes), per window.
    signup_max_attempts: int = 5
    signup_window_seconds: int = 3600
    signup_mail_max: int = 3
    # How long the link that confirms a new therapist's email works.
    verification_hours: int = 24
    # argon2 (64 MiB per hash or check) runs at most this many at once per process;
    # a request that waits longer than this for a slot is answered 503 with Retry-After.
    password_check_slots: int = Field(default=2, ge=1)
    password_check_wait_seconds: float = Field(default=5.0, ge=0)
    max_text_length: int = 5000
    max_request_bytes: int = 1_000_000
    # Privacy and abuse limits (fixed windows, counted in the database; answers are 429 + Retry-After).
    # The optional client app PIN: tries per window before a lockout, and how long a
    # device may sit unused before the PIN is asked for again.
    pin_max_attempts: int = 5
    pin_window_seconds: int = 900
    pin_idle_hours: float = 8.0
    # Writes to the JSON API per signed-in person (an offline phone syncs a burst at once).
    api_write_max: int = 300
    api_write_window_seconds: int = 60
    # Uploads (voice notes and any other file body) per person.
    upload_max: int = 30
    upload_window_seconds: int = 600
    serve_demo: bool = True
    # API-write and upload limits are shared by every process: counted in the database, or in
    # Redis when redis_url is set (e.g. redis://127.0.0.1:6379/0; keys start with redis_key_prefix).
    # A process takes up to rate_limit_batch attempts of a device at once (at most a tenth of the
    # limit) and spends them from memory (app/services/ratelimit.py, docs/benchmarks.md).
    redis_url: str = ""
    redis_key_prefix: str = "between:rl:"
    rate_limit_batch: int = Field(default=10, ge=1)

    # Database connections (PostgreSQL) per process (docs/deploy.md): each web process keeps up
    # to db_pool_size + db_max_overflow, plus 4 for rate-limit counters; each dispatcher up to
    # dispatcher_db_pool_size + dispatcher_db_max_overflow.
    db_pool_size: int = Field(default=8, ge=1)
    db_max_overflow: int = Field(default=4, ge=0)
    dispatcher_db_pool_size: int = Field(default=4, ge=1)
    dispatcher_db_max_overflow: int = Field(default=2, ge=0)
    # Connections go through PgBouncer in transaction pooling mode: no prepared statements.
    db_pgbouncer: bool = False

    # Voice notes are kept in the database (app/services/voice_storage.py). upload_dir (default
    # data_dir/uploads) is only where older versions kept them as files: migration 0013 moves
    # them into the database and `between migrate` then removes the files.
    upload_dir: Path | None = None
    voice_max_bytes: int = 4_000_000
    voice_max_seconds: int = 600

    # Reminders delivered by Web Push (VAPID). In production both are required;
    # in development the key is generated once into data_dir and kept.
    vapid_private_key: str = ""  # base64url of the raw P-256 key, or PEM
    vapid_subject: str = ""  # mailto: or https: contact for push services
    push_ttl_seconds: int = 1800
    # Push endpoints must be https on hosts that resolve only to public addresses, checked when
    # a device is added and again at every connection (app/services/push_endpoints.py). With the
    # allow-list on (unset: on in production, off otherwise) the host must also be one of
    # push_allowed_hosts or a subdomain of one (comma-separated in the environment).
    push_host_allowlist: bool | None = None
    push_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = DEFAULT_PUSH_HOSTS
    # Tests only: also accept loopback addresses, and plain http to them (the test push
    # services listen on 127.0.0.1). Refused in production.
    push_allow_loopback: bool = False
    push_timeout_seconds: float = 10.0
    # A reminder is delivered late within this period, then falls back to email or is missed.
    reminder_grace_seconds: int = 1800
    dispatch_tick_seconds: float = 2.0
    dispatch_batch: int = 2000
    dispatch_concurrency: int = 200
    # An occurrence claimed by a dispatcher that then died is taken over after this.
    dispatch_lease_seconds: int = 60
    push_retry_base_seconds: float = 10.0
    # A device is "silent" when its push service accepted this many reminders in a row and it
    # showed no sign of life (a reminder seen, Between opened on it) for this many days.
    silent_after_reminders: int = Field(default=5, ge=1, le=100)
    silent_after_days: int = Field(default=3, ge=1, le=60)

    # Email (reminder fallback, digests). Without smtp_host, development logs mail instead.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls, ssl or none
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = ""
    smtp_timeout_seconds: float = 15.0

    # Operations (docs/operations.md). Logs are JSON lines on stdout ("text" for plain lines),
    # with one access line per request (route template, status, duration; never a raw path).
    log_format: str = "json"
    log_level: str = "INFO"
    access_log: bool = True
    # /metrics answers loopback clients, and others that send `Authorization: Bearer <token>`.
    metrics_token: str = ""
    # A dispatcher writes its heartbeat this often; older than the stale age, /readyz fails.
    dispatch_heartbeat_seconds: float = Field(default=10.0, gt=0)
    dispatch_heartbeat_stale_seconds: float = Field(default=60.0, gt=0)
    # A periodic job (app/dispatch/periodic.py) that could not start within this long after its
    # time (the process was suspended, or the job was still running) skips that run.
    dispatch_misfire_grace_seconds: float = Field(default=30.0, gt=0)
    # /readyz and /metrics give up on a database that does not answer within this.
    health_timeout_seconds: float = Field(default=3.0, gt=0)
    # Error reports to Sentry (or a compatible service), scrubbed of personal data; off when unset.
    sentry_dsn: str = ""
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0, le=1)

    @field_validator("push_allowed_hosts", mode="before")
    @classmethod
    def _host_suffixes(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return tuple(str(item).strip().strip(".").lower() for item in value if str(item).strip(" ."))
        return value

    @model_validator(mode="after")
    def _defaults_and_safety(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'between.db'}"
        if not self.base_url:
            self.base_url = f"http://{self.host}:{self.port}"
        if self.upload_dir is None:
            self.upload_dir = self.data_dir / "uploads"
        if self.environment is Environment.production:
            problems = []
            if len(self.secret_key) < 32:
                problems.append("BETWEEN_SECRET_KEY must be set to at least 32 characters")
            if not self.base_url.startswith("https://"):
                problems.append("BETWEEN_BASE_URL must be an https:// address")
            if not self.vapid_private_key:
                problems.append("BETWEEN_VAPID_PRIVATE_KEY must be set (see `between vapid-keys`)")
            if not self.vapid_subject:
                problems.append("BETWEEN_VAPID_SUBJECT must be set to a mailto: or https: contact")
            if self.push_allow_loopback:
                problems.append("BETWEEN_PUSH_ALLOW_LOOPBACK is for tests only")
            if problems:
                raise ValueError("unsafe settings for production: " + "; ".join(problems))
        elif not self.secret_key:
            self.secret_key = _development_secret(self.data_dir)
        if self.push_host_allowlist is None:
            self.push_host_allowlist = self.environment is Environment.production
        if self.push_host_allowlist and not self.push_allowed_hosts:
            raise ValueError("BETWEEN_PUSH_ALLOWED_HOSTS is empty while the push host allow-list is on")
        self._check_push_and_mail()
        return self

    def _check_push_and_mail(self) -> None:
        from app.core.push_rules import subject_problem

        if self.vapid_subject:
            problem = subject_problem(self.vapid_subject)
            if problem:
                raise ValueError(f"BETWEEN_VAPID_SUBJECT {problem}")
        if self.smtp_security not in ("starttls", "ssl", "none"):
            raise ValueError("BETWEEN_SMTP_SECURITY must be starttls, ssl or none")
        if not self.mail_from:
            self.mail_from = f"Between <no-reply@{_mail_domain(self.base_url)}>"
        self._check_operations()

    def _check_operations(self) -> None:
        if self.log_format not in ("json", "text"):
            raise ValueError("BETWEEN_LOG_FORMAT must be json or text")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("BETWEEN_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        if self.metrics_token and len(self.metrics_token) < 16:
            raise ValueError("BETWEEN_METRICS_TOKEN must be at least 16 characters")
        if self.dispatch_heartbeat_stale_seconds <= self.dispatch_heartbeat_seconds:
            raise ValueError("BETWEEN_DISPATCH_HEARTBEAT_STALE_SECONDS must exceed BETWEEN_DISPATCH_HEARTBEAT_SECONDS")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def is_development(self) -> bool:
        return self.environment is not Environment.production


def _mail_domain(base_url: str) -> str:
    from urllib.parse import urlsplit

    host = urlsplit(base_url).hostname or ""
    return host if "." in host and not host.replace(".", "").isdigit() else "localhost.localdomain"


def _development_secret(data_dir: Path) -> str:
    """Generate the key once and keep it, so sessions survive a restart."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@lru_cache
def get_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
