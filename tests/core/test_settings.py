"""Settings: a kept development secret, and no unsafe defaults in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.settings import Environment, Settings


def test_development_secret_is_generated_once_and_kept(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("BETWEEN_SECRET_KEY", raising=False)
    first = Settings(environment=Environment.development, data_dir=tmp_path)
    second = Settings(environment=Environment.development, data_dir=tmp_path)
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_production_refuses_missing_secret_and_plain_http(tmp_path) -> None:
    with pytest.raises(ValidationError) as error:
        Settings(environment=Environment.production, data_dir=tmp_path, base_url="http://clinic.example")
    message = str(error.value)
    assert "BETWEEN_SECRET_KEY" in message
    assert "https://" in message
    assert not (tmp_path / "secret_key").exists()


def test_production_accepts_safe_settings(tmp_path) -> None:
    settings = Settings(
        environment=Environment.production,
        data_dir=tmp_path,
        secret_key="k" * 40,
        base_url="https://between.clinic.example",
        database_url="postgresql://between@db/between",
        vapid_private_key=_vapid_key(),
        vapid_subject="mailto:ops@clinic.example",
    )
    assert settings.secure_cookies is True


def test_database_url_host_and_port_come_from_plain_environment_names(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "9001")
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url == "sqlite:////tmp/elsewhere.db"
    assert (settings.host, settings.port) == ("0.0.0.0", 9001)


def test_default_database_is_a_sqlite_file_under_data(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'between.db'}"


def _vapid_key() -> str:
    import base64

    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
