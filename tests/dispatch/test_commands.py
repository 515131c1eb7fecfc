"""`between reminders preview` and the dispatcher inside the web process."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.cli import main
from app.cli.dispatch import preview_lines
from app.core.settings import Settings


def test_preview_prints_utc_then_local_with_the_dispatchers_schedule(capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(
        ["reminders", "preview", "--tz", "America/New_York", "--time", "02:30", "--weekdays", "sat,sun",
         "--from", "2026-03-07", "--days", "3"]
    )  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out.splitlines() == [
        "2026-03-07T07:30:00Z 2026-03-07T02:30:00-05:00 Sat EST",
        "2026-03-08T07:00:00Z 2026-03-08T03:00:00-04:00 Sun EDT",
    ]


def test_preview_rejects_bad_input(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["reminders", "preview", "--tz", "Nowhere/Land", "--time", "09:00", "--from", "2026-01-01"]) == 2
    assert main(["reminders", "preview", "--tz", "UTC", "--time", "25:00", "--from", "2026-01-01"]) == 2
    assert "error:" in capsys.readouterr().err
    assert preview_lines(tz="Asia/Kolkata", times=["09:00"], weekdays="", start="2026-06-01", days=1) == [
        "2026-06-01T03:30:00Z 2026-06-01T09:00:00+05:30 Mon IST"
    ]


def test_web_process_runs_one_dispatcher_and_stops_it(settings: Settings, engine: Engine) -> None:
    from app.main import create_app

    settings = settings.model_copy(update={"vapid_subject": "mailto:tests@example.org"})
    app = create_app(settings, engine=engine, run_dispatcher=True)
    with TestClient(app):
        dispatcher = app.state.dispatcher
        assert dispatcher is not None and dispatcher._scheduler is not None
    assert app.state.dispatcher is None
    assert create_app(settings, engine=engine).state.run_dispatcher is False
