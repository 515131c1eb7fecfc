"""One settings class for the whole app, read from the environment and `.env`."""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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

    # Voice notes: stored as files in upload_dir (default data_dir/uploads), never in the database.
    upload_dir: Path | None = None
    voice_max_bytes: int = 4_000_000
    voice_max_seconds: int = 600

    # Reminders delivered by Web Push (VAPID). In production both are required;
    # in development the key is generated once into data_dir and kept.
    vapid_private_key: str = ""  # base64url of the raw P-256 key, or PEM
    vapid_subject: str = ""  # mailto: or https: contact for push services
    push_ttl_seconds: int = 1800
    push_timeout_seconds: float = 10.0
    # A reminder is delivered late within this period, then falls back to email or is missed.
    reminder_grace_seconds: int = 1800
    dispatch_tick_seconds: float = 2.0
    dispatch_batch: int = 2000
    dispatch_concurrency: int = 200
    # Worker processes that encrypt push messages; unset: one per core beyond the first (max 4).
    dispatch_encrypt_processes: int | None = None
    # An occurrence claimed by a dispatcher that then died is taken over after this.
    dispatch_lease_seconds: int = 60
    push_retry_base_seconds: float = 10.0

    # Email (reminder fallback, digests). Without smtp_host, development logs mail instead.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls, ssl or none
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = ""
    smtp_timeout_seconds: float = 15.0

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
            if problems:
                raise ValueError("unsafe settings for production: " + "; ".join(problems))
        elif not self.secret_key:
            self.secret_key = _development_secret(self.data_dir)
        self._check_push_and_mail()
        return self

    def _check_push_and_mail(self) -> None:
        from app.dispatch.vapid import subject_problem

        if self.vapid_subject:
            problem = subject_problem(self.vapid_subject)
            if problem:
                raise ValueError(f"BETWEEN_VAPID_SUBJECT {problem}")
        if self.smtp_security not in ("starttls", "ssl", "none"):
            raise ValueError("BETWEEN_SMTP_SECURITY must be starttls, ssl or none")
        if not self.mail_from:
            self.mail_from = f"Between <no-reply@{_mail_domain(self.base_url)}>"

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
