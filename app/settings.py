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
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_prefix="BETWEEN_"
    )

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
    serve_demo: bool = True

    @model_validator(mode="after")
    def _defaults_and_safety(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'between.db'}"
        if not self.base_url:
            self.base_url = f"http://{self.host}:{self.port}"
        if self.environment is Environment.production:
            problems = []
            if len(self.secret_key) < 32:
                problems.append("BETWEEN_SECRET_KEY must be set to at least 32 characters")
            if not self.base_url.startswith("https://"):
                problems.append("BETWEEN_BASE_URL must be an https:// address")
            if problems:
                raise ValueError("unsafe settings for production: " + "; ".join(problems))
        elif not self.secret_key:
            self.secret_key = _development_secret(self.data_dir)
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def is_development(self) -> bool:
        return self.environment is not Environment.production


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
