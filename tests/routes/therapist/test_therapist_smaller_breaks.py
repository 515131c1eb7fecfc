"""The therapist's smaller breaks: a weekly series shown once on the sessions page, delivery
health that agrees with itself, exports on the client's clock and filed under their alias,
and `between demo` printing links to the server that runs."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from sqlmodel import Session

from app.core import i18n
from app.core.settings import get_settings
from app.models import OccurrenceStatus, PushSubscription, Reminder, ReminderOccurrence, Repeat, Visibility
from app.models.types import utcnow
from app.services import appointments, exports, zone_history
from app.services.reminders import health as reminder_health
from tests.factories import make_assignment, make_client, make_entry, make_therapist, signed_in

# -- sessions: a weekly series once, its dates behind disclosures --------------------------------


def _next_weekday(weekday: int, zone: str) -> date:
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    return today + timedelta(days=(weekday - today.isoweekday()) % 7 or 7)


def test_a_weekly_series_is_shown_once_with_its_dates(web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name="Series Sol", timezone="Europe/Madrid")
    tuesday = _next_weekday(2, "Europe/Madrid")
    series = appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=appointments.local_start(tuesday, clock_time(17, 0), timezone="Europe/Madrid"),
        timezone="Europe/Madrid",
        repeat=Repeat.weekly,
    )
    single = appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=appointments.local_start(tuesday + timedelta(days=1), clock_time(9, 30), timezone="Europe/Madrid"),
        timezone="Europe/Madrid",
    )
    session.commit()
    assert len(series) > 20

    desk = signed_in(web, session, therapist)
    html = desk.get(f"/t/clients/{client.id}/sessions").text
    coming = html[html.index('id="upcoming-heading"') : html.index("</section>", html.index('id="upcoming-heading"'))]
    # The series once, by its day and time; the single session on its own.
    assert coming.count('class="series-title"') == 1
    assert "Every week, Tuesday at 17:00" in coming
    assert coming.count('class="session-group series"') == 1 and coming.count('class="session-group"') == 1
    assert f"{len(series)} dates planned" in coming
    # Four dates in view, the others behind "N more dates, until …".
    first_group = coming[: coming.index('class="session-group"')]
    more = first_group[first_group.index('<details class="more-dates">') :]
    assert first_group[: first_group.index('<details class="more-dates">')].count('class="occurrence"') == 4
    assert re.search(r"<summary>\d+ more dates, until [A-Z][a-z]{2} \d+ [A-Z][a-z]{2}</summary>", more)
    # Move and cancel wait behind each date's own disclosure: no form outside one.
    assert coming.count('<details class="change">') == coming.count('class="move-form"')
    assert coming.count('<details class="change">') == coming.count('class="occurrence"')
    outside = re.sub(r'<details class="change">.*?</details>', "", coming, flags=re.S)
    assert "<form" not in outside
    # "This and later ones" only where there are later ones of a series.
    assert coming.count('name="following" value="1"') == coming.count('class="occurrence"') - 1
    # The move form starts from the session's own date and time.
    assert f'value="{tuesday.isoformat()}"' in coming and 'value="17:00"' in coming
    assert f"brief?session={single[0].id}" in coming

    desk.cookies.set("between_lang", "es")
    spanish = desk.get(f"/t/clients/{client.id}/sessions").text
    assert "Cada semana, el martes a las 17:00" in spanish
    assert "Mover o cancelar" in spanish


def test_moving_one_date_of_a_series_from_its_disclosure(web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, timezone="Europe/Madrid")
    tuesday = _next_weekday(2, "Europe/Madrid")
    series = appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=appointments.local_start(tuesday, clock_time(17, 0), timezone="Europe/Madrid"),
        timezone="Europe/Madrid",
        repeat=Repeat.weekly,
    )
    session.commit()
    desk = signed_in(web, session, therapist)
    second = series[1]
    moved = desk.post(
        f"/t/sessions/{second.id}/move",
        data={"date": (tuesday + timedelta(days=8)).isoformat(), "time": "18:00"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    html = desk.get(f"/t/clients/{client.id}/sessions").text
    # Still one series; the moved date shows its new day and time among the others.
    assert html.count('class="series-title"') == 1
    assert (
        format_datetime(
            datetime.combine(tuesday + timedelta(days=8), clock_time(18, 0)), "EEE d MMM, HH:mm", locale="en"
        )
        in html
    )


# -- delivery health ---------------------------------------------------------------------------


def _reminder(session: Session, client) -> Reminder:  # type: ignore[no-untyped-def]
    assignment = make_assignment(session, client=client)
    reminder = Reminder(client_id=client.id, assignment_id=assignment.id, times=["09:00"])
    session.add(reminder)
    session.commit()
    return reminder


def _occurrence(session: Session, reminder: Reminder, *, due: datetime, sent: datetime | None, status) -> None:  # type: ignore[no-untyped-def]
    session.add(
        ReminderOccurrence(
            reminder_id=reminder.id, client_id=reminder.client_id, due_at=due, sent_at=sent, status=status
        )
    )
    session.commit()


def _device(session: Session, client, *, last_success: datetime | None) -> None:  # type: ignore[no-untyped-def]
    session.add(
        PushSubscription(
            client_id=client.id,
            endpoint=f"https://push.example.org/{client.id}",
            p256dh="B" + "x" * 86,
            auth="a" * 22,
            user_agent="Chrome on Android",
            last_success_at=last_success,
        )
    )
    session.commit()


def _health_text(web, session, therapist, client) -> str:  # type: ignore[no-untyped-def]
    html = signed_in(web, session, therapist).get(f"/t/clients/{client.id}").text
    start = html.index("data-delivery-health")
    section = html[start : html.index("</section>", start)]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))


def test_a_reminder_delivered_nine_days_ago_reads_as_such_beside_none_in_seven_days(web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, timezone="America/New_York")
    reminder = _reminder(session, client)
    sent = utcnow() - timedelta(days=9, hours=2)
    _occurrence(session, reminder, due=sent, sent=sent, status=OccurrenceStatus.sent)
    _device(session, client, last_success=sent)

    health = reminder_health.delivery_health(session, client=client)
    assert health.last_reminder_at == sent and health.last_other_at is None
    text = _health_text(web, session, therapist, client)
    local = format_datetime(sent.astimezone(ZoneInfo("America/New_York")), "EEE d MMM, HH:mm", locale="en")
    assert f"Last reminder delivered {local} , 9 days ago" in text
    assert "Last 7 days 0 delivered" in text
    assert "Times in America/New_York, the client's time zone." in text


def test_the_last_reminder_is_always_among_the_seven_days_counted(web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    reminder = _reminder(session, client)
    # Due just over a week ago, sent (after retries) just under: counted, and the last one.
    due = utcnow() - timedelta(days=7, minutes=10)
    _occurrence(session, reminder, due=due, sent=due + timedelta(minutes=20), status=OccurrenceStatus.retried_sent)
    health = reminder_health.delivery_health(session, client=client)
    assert health.recent == {"retried_sent": 1}
    text = _health_text(web, session, therapist, client)
    assert "Last 7 days 1 delivered" in text and "6 days ago" in text


def test_a_test_notification_after_the_last_reminder_is_told_apart(web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, timezone="Europe/Madrid")
    reminder = _reminder(session, client)
    sent = utcnow() - timedelta(days=3)
    _occurrence(session, reminder, due=sent, sent=sent, status=OccurrenceStatus.sent)
    tested = utcnow() - timedelta(hours=2)
    _device(session, client, last_success=tested)
    health = reminder_health.delivery_health(session, client=client)
    assert health.last_delivered_at == tested and health.last_other_at == tested
    text = _health_text(web, session, therapist, client)
    assert "3 days ago" in text and "Last 7 days 1 delivered" in text
    assert "Since then, a test notification or a note before a session reached a device:" in text
    assert "2 hours ago" in text


def test_only_a_test_notification_so_far(web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    _reminder(session, client)
    _device(session, client, last_success=utcnow() - timedelta(seconds=20))
    text = _health_text(web, session, therapist, client)
    assert "No reminder yet" in text and "None yet" not in text
    assert "A test notification or a note before a session reached a device:" in text and "just now" in text
    assert "Last 7 days 0 delivered" in text


def test_the_clients_own_page_says_their_zone(web, session) -> None:
    client = make_client(session, timezone="Asia/Kolkata")
    reminder = _reminder(session, client)
    sent = utcnow() - timedelta(hours=5)
    _occurrence(session, reminder, due=sent, sent=sent, status=OccurrenceStatus.sent)
    phone = signed_in(web, session, client)
    phone.cookies.set("between_lang", "es")
    html = phone.get("/c/reminders").text
    local = format_datetime(sent.astimezone(ZoneInfo("Asia/Kolkata")), "EEE d MMM, HH:mm", locale="es")
    assert local in html and "hace 5 horas" in html
    assert "Horas en Asia/Kolkata, tu zona horaria." in html


def test_time_words() -> None:
    from app.web.presenters.timewords import ago

    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    with i18n.using_locale("en"):
        assert ago(now - timedelta(seconds=10), now) == "just now"
        assert ago(now - timedelta(hours=3), now) == "3 hours ago"
        assert ago(now - timedelta(days=6), now) == "6 days ago"  # never "1 week ago" inside the week
        assert ago(now - timedelta(days=13), now) == "13 days ago"
        assert ago(now - timedelta(days=3), now) == "3 days ago"
        assert ago(now - timedelta(days=6, hours=23), now) == "6 days ago"
        assert ago(now - timedelta(days=20), now) == "3 weeks ago"
    with i18n.using_locale("es"):
        assert ago(now - timedelta(seconds=10), now) == "ahora mismo"
        assert ago(now - timedelta(days=6), now) == "hace 6 días"


# -- the therapist's exports: the client's clock, the client's alias in the file name ------------


def test_file_slugs_are_ascii_and_never_empty() -> None:
    assert exports.file_slug("José María") == "jose-maria"
    assert exports.file_slug("  Søren   Ærø ") == "soren-aero"
    assert exports.file_slug("Straße 5/6") == "strasse-5-6"
    assert exports.file_slug("李小龍") == "client"
    assert exports.file_slug("../../etc/passwd") == "etc-passwd"
    assert exports.file_slug('a"b;c\r\nd') == "a-b-c-d"
    assert exports.file_slug("x" * 200) == "x" * 40
    assert re.fullmatch(r"[a-z0-9-]+", exports.file_slug("Ünïcödé — Name!"))


def _world(session):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name="José María", timezone="America/New_York")
    assignment = make_assignment(session, client=client)
    occurred = datetime(2026, 1, 15, 14, 30, tzinfo=UTC)  # 09:30 in New York
    shared = make_entry(session, client=client, assignment=assignment, answers={"mood": 4}, occurred_at=occurred)
    make_entry(session, client=client, assignment=assignment, answers={"mood": 1}, visibility=Visibility.private)
    return therapist, client, assignment, shared


def test_therapist_csv_is_on_the_clients_clock_and_named_after_the_alias(web, session) -> None:
    therapist, client, _assignment, shared = _world(session)
    desk = signed_in(web, session, therapist)
    response = desk.get(f"/t/clients/{client.id}/export.csv")
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    today = utcnow().astimezone(ZoneInfo("America/New_York")).date().isoformat()
    assert disposition == f'attachment; filename="between-jose-maria-shared-records-{today}.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["entry_id"] for row in rows if row["question_key"] == "mood"] == [str(shared.id)]
    row = rows[0]
    assert row["occurred_at"] == "2026-01-15 09:30"
    assert row["time_zone"] == "America/New_York"
    logged = shared.logged_at.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M")
    assert row["logged_at"] == logged
    fhir = desk.get(f"/t/clients/{client.id}/export.fhir.json")
    assert f'filename="between-jose-maria-shared-records-{today}.fhir.json"' in fhir.headers["content-disposition"]


def test_csv_times_follow_the_zone_the_client_lived_in_then(web, session) -> None:
    therapist, client, assignment, shared = _world(session)
    # Moved to Madrid after that entry: it stays on New York's clock, a later one is on Madrid's.
    zone_history.record_change(session, client=client, timezone="Europe/Madrid", at=datetime(2026, 2, 1, tzinfo=UTC))
    client.timezone = "Europe/Madrid"
    session.add(client)
    session.commit()
    later = make_entry(
        session,
        client=client,
        assignment=assignment,
        answers={"mood": 6},
        occurred_at=datetime(2026, 2, 10, 8, 0, tzinfo=UTC),
    )
    rows = list(
        csv.DictReader(io.StringIO(signed_in(web, session, therapist).get(f"/t/clients/{client.id}/export.csv").text))
    )
    by_id = {row["entry_id"]: row for row in rows}
    assert (by_id[str(shared.id)]["occurred_at"], by_id[str(shared.id)]["time_zone"]) == (
        "2026-01-15 09:30",
        "America/New_York",
    )
    assert (by_id[str(later.id)]["occurred_at"], by_id[str(later.id)]["time_zone"]) == (
        "2026-02-10 09:00",
        "Europe/Madrid",
    )


def test_printable_report_is_on_the_clients_clock(web, session) -> None:
    therapist, client, _assignment, _shared = _world(session)
    html = signed_in(web, session, therapist).get(f"/t/clients/{client.id}/report").text
    assert "2026-01-15 09:30" in html and "2026-01-15 14:30" not in html
    assert "Times are the client's local time (America/New_York)." in html
    assert " UTC" not in html


def test_the_clients_own_download_still_carries_no_name(web, session) -> None:
    _therapist, client, _assignment, _shared = _world(session)
    response = signed_in(web, session, client).get("/c/export.zip")
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="between-my-data-\d{4}-\d{2}-\d{2}\.zip"', disposition)
    assert "jose" not in disposition.lower()


# -- `between demo` follows the server that runs ------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def demo_env(database_url, engine, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    env = {
        "DATABASE_URL": database_url,
        "BETWEEN_DATA_DIR": str(tmp_path),
        "BETWEEN_ENVIRONMENT": "development",
        # What `make demo` exports in a second terminal: the Makefile's defaults.
        "HOST": "127.0.0.1",
        "PORT": "8000",
    }
    monkeypatch.delenv("BETWEEN_BASE_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def test_demo_prints_links_to_the_server_that_runs(demo_env, tmp_path, capsys) -> None:
    from app import cli

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--no-dispatcher"],
        env={**os.environ, **demo_env, "PORT": str(port)},  # as `PORT=… make run` starts it
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    serving = Path(tmp_path) / cli.SERVING_FILE
    try:
        deadline = time.monotonic() + 60
        while not serving.exists():
            assert server.poll() is None, "the server stopped"
            assert time.monotonic() < deadline, "the server never said where it serves"
            time.sleep(0.1)
        assert cli.main(["demo"]) == 0
        printed = capsys.readouterr().out
        assert f"http://127.0.0.1:{port}/signin" in printed
        assert f"http://127.0.0.1:{port}/invite/" in printed
        assert ":8000" not in printed
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    # Stopped cleanly: nothing left behind, and links follow HOST and PORT again.
    assert not serving.exists()
    assert cli.main(["demo"]) == 0
    assert "http://127.0.0.1:8000/signin" in capsys.readouterr().out


def test_demo_ignores_what_a_killed_server_left_behind(demo_env, tmp_path, capsys) -> None:
    import json

    from app import cli

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (Path(tmp_path) / cli.SERVING_FILE).write_text(json.dumps({"base_url": "http://127.0.0.1:9999", "pid": gone.pid}))
    assert cli.main(["demo"]) == 0
    printed = capsys.readouterr().out
    assert "http://127.0.0.1:8000/signin" in printed and "9999" not in printed
