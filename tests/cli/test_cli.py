"""The `between` command."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app import cli
from app.core.settings import get_settings
from app.models import Therapist


@pytest.fixture
def cli_env(database_url, engine, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("BETWEEN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_create_therapist_and_refuse_bad_input(cli_env, engine, capsys) -> None:
    assert (
        cli.main(["create-therapist", "--email", "Cli@Example.org", "--name", "Dr Cli", "--password", "long enough pw"])
        == 0
    )
    assert "created therapist cli@example.org" in capsys.readouterr().out
    with Session(engine) as session:
        assert session.exec(select(Therapist).where(Therapist.email == "cli@example.org")).one()
    assert (
        cli.main(["create-therapist", "--email", "cli@example.org", "--name", "X", "--password", "long enough pw"]) == 2
    )
    assert cli.main(["create-therapist", "--email", "nope", "--name", "X", "--password", "long enough pw"]) == 2
    assert "error" in capsys.readouterr().err


def test_migrate_is_idempotent(cli_env, capsys) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out
