"""The demo data: what `make run` seeds on an empty database."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.core.days import local_day
from app.models import Client, Entry, RecordTemplate, Therapist, Visibility
from app.models.types import utcnow
from app.services import accounts, demo, invites


def _entries_by_client(session: Session) -> dict[str, list[Entry]]:
    found: dict[str, list[Entry]] = defaultdict(list)
    for entry, name in session.exec(select(Entry, Client.display_name).join(Client, col(Client.id) == Entry.client_id)):
        found[name].append(entry)
    return found


def _slug(session: Session, entry: Entry) -> str:
    from app.models import Assignment

    assignment = session.get(Assignment, entry.assignment_id)
    assert assignment is not None
    template = session.get(RecordTemplate, assignment.template_id)
    assert template is not None and template.slug is not None
    return template.slug


def test_seed_on_an_empty_database(session: Session) -> None:
    assert demo.is_empty(session)
    started = utcnow()

    info = demo.seed(session, base_url="http://demo.test/")
    session.commit()

    assert not demo.is_empty(session)
    assert session.exec(select(func.count()).select_from(Therapist)).one() == 1
    assert sorted(session.exec(select(Client.display_name))) == ["Alex", "Jo", "Sam"]
    assert info.created and info.clients == ("Alex", "Jo", "Sam")
    total = session.exec(select(func.count()).select_from(Entry)).one()
    assert info.entries == total > 100

    # Six weeks ending today; logged no earlier than the event and never in the future.
    every = session.exec(select(Entry)).all()
    oldest = min(entry.occurred_at for entry in every)
    newest = max(entry.occurred_at for entry in every)
    assert started - timedelta(days=43) <= oldest <= started - timedelta(days=40)
    assert newest >= started - timedelta(days=2)
    assert all(entry.occurred_at <= entry.logged_at <= utcnow() for entry in every)
    days = {entry.occurred_at.date() for entry in every}
    assert len(days) >= 38

    therapist = accounts.authenticate(
        session,
        email=info.email,
        password=info.password,
        remote="test",
        max_attempts=5,
        window_seconds=60,
    )
    assert therapist is not None and therapist.email == "demo@between.example"


def test_the_three_clients_differ_as_promised(session: Session) -> None:
    demo.seed(session, base_url="http://demo.test")
    session.commit()
    now = utcnow()
    by_client = _entries_by_client(session)

    # Alex: a mood log on nearly every one of the 42 days, a thought record a few
    # times a week, and a PHQ-9 each week.
    alex = by_client["Alex"]
    client = session.exec(select(Client).where(Client.display_name == "Alex")).one()
    mood_days = {
        local_day(entry.occurred_at, timezone=client.timezone) for entry in alex if _slug(session, entry) == "mood_log"
    }
    assert len(mood_days) >= 36
    slugs = [_slug(session, entry) for entry in alex]
    assert slugs.count("thought_record") >= 12
    assert 5 <= slugs.count("phq9") <= 6
    assert all(entry.logged_at - entry.occurred_at < timedelta(hours=2) for entry in alex)

    # Sam: gaps, "nothing to report", back-filled entries, the session agenda, one private.
    sam = by_client["Sam"]
    assert len(sam) < len(alex)
    assert any(entry.nothing_to_report and entry.answers == {} for entry in sam)
    assert sum(entry.logged_at - entry.occurred_at > timedelta(hours=10) for entry in sam) >= 2
    assert sum(entry.visibility is Visibility.discuss for entry in sam) >= 3
    assert sum(entry.visibility is Visibility.private for entry in sam) == 1
    sam_days = sorted({(now - entry.occurred_at).days for entry in sam})
    assert any(later - earlier >= 4 for earlier, later in itertools.pairwise(sam_days))

    # Jo: nothing in the last two weeks, and the last PHQ-9 answers item 9 above zero.
    jo = by_client["Jo"]
    last = max(entry.occurred_at for entry in jo)
    assert timedelta(days=13) < now - last < timedelta(days=16)
    phq9 = sorted((entry for entry in jo if _slug(session, entry) == "phq9"), key=lambda e: e.occurred_at)
    assert int(phq9[-1].answers["item9"]) > 0
    assert all(entry.answers["item9"] == "0" for entry in phq9[:-1])
    assert all(entry.answers["item9"] == "0" for entry in alex if "item9" in entry.answers)


def test_the_caseload_shows_sessions_and_jos_risk_answer(session: Session) -> None:
    from app.services import caseload

    demo.seed(session, base_url="http://demo.test")
    session.commit()
    now = utcnow()
    therapist = session.exec(select(Therapist)).one()

    rows = {row.client.display_name: row for row in caseload.build(session, therapist=therapist, now=now)}

    assert set(rows) == {"Alex", "Sam", "Jo"}
    for row in rows.values():
        # A session within the next few days, and one in the past to count "since" from.
        assert row.next_session is not None and now < row.next_session.starts_at < now + timedelta(days=4)
        assert row.last_session is not None and row.last_session.starts_at < now
    assert rows["Jo"].risk and not rows["Alex"].risk and not rows["Sam"].risk


def test_sams_brief_shows_what_comes_before_and_after(session: Session) -> None:
    from app.services import brief
    from app.services.functional_analysis import Part

    demo.seed(session, base_url="http://demo.test")
    session.commit()
    therapist = session.exec(select(Therapist)).one()
    sam = session.exec(select(Client).where(Client.display_name == "Sam")).one()

    found = brief.build(session, therapist=therapist, client_id=sam.id).functional

    assert found.entries_last_28 >= 10  # nine ABC records and the urge logs with something in them
    parts = found.dimensions
    # Evenings at home alone, relief right away and worse later: the pattern to talk about.
    assert [count.value for count in parts[Part.time_of_day].top(1)] == ["evening"]
    assert parts[Part.place].top(1)[0].value == "home"
    assert parts[Part.people].top(1)[0].value == "alone"
    assert {count.value for count in parts[Part.short_term].counts} >= {"relief", "calmer"}
    assert {count.value for count in parts[Part.long_term].counts} >= {"guilt", "proud"}


def test_the_sign_in_link_signs_in_as_alex(session: Session) -> None:
    info = demo.seed(session, base_url="http://demo.test")
    session.commit()
    assert info.invite_link.startswith("http://demo.test/invite/")
    token = info.invite_link.rsplit("/", 1)[1]
    assert invites.redeem(session, token=token).client.display_name == "Alex"
    assert "demo@between.example" in demo.instructions(info)
    assert "between-demo" in demo.instructions(info)
    assert info.invite_link in demo.instructions(info)


def test_seeding_again_only_issues_a_new_link(session: Session) -> None:
    first = demo.seed(session, base_url="http://demo.test")
    session.commit()
    entries_before = session.exec(select(func.count()).select_from(Entry)).one()

    again = demo.seed(session, base_url="http://demo.test")
    session.commit()

    assert not again.created and again.entries == 0
    assert again.invite_link != first.invite_link
    assert session.exec(select(func.count()).select_from(Therapist)).one() == 1
    assert session.exec(select(func.count()).select_from(Client)).one() == 3
    assert session.exec(select(func.count()).select_from(Entry)).one() == entries_before
    # The earlier, unused link stops working: one live link per client.
    with pytest.raises(Exception, match="already been used"):
        invites.redeem(session, token=first.invite_link.rsplit("/", 1)[1])


def test_the_demo_is_the_same_every_time(session: Session) -> None:
    now = utcnow()
    demo.seed(session, base_url="http://demo.test", now=now)
    session.commit()
    first = sorted(
        (entry.occurred_at, entry.logged_at, repr(sorted(entry.answers.items())), entry.visibility)
        for entry in session.exec(select(Entry))
    )
    for entry in session.exec(select(Entry)):
        session.delete(entry)
    session.commit()
    for client in session.exec(select(Client)):
        client.display_name = f"old {client.display_name}"
        session.add(client)
    therapist = session.exec(select(Therapist)).one()
    therapist.email = "old-demo@between.example"
    session.add(therapist)
    session.commit()

    demo.seed(session, base_url="http://demo.test", now=now)
    session.commit()
    second = sorted(
        (entry.occurred_at, entry.logged_at, repr(sorted(entry.answers.items())), entry.visibility)
        for entry in session.exec(select(Entry))
    )
    assert first == second


def test_the_demo_command_seeds_only_an_empty_database(
    session: Session,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app import cli
    from app.core.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("BETWEEN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BETWEEN_ENVIRONMENT", "development")
    monkeypatch.setenv("BETWEEN_BASE_URL", "http://127.0.0.1:8123")
    get_settings.cache_clear()
    try:
        assert cli.main(["demo", "--if-empty"]) == 0
        printed = capsys.readouterr().out
        assert "http://127.0.0.1:8123/signin" in printed
        assert "http://127.0.0.1:8123/invite/" in printed
        assert "demo@between.example" in printed and "between-demo" in printed

        assert cli.main(["demo", "--if-empty"]) == 0
        assert "not seeded" in capsys.readouterr().out
        assert session.exec(select(func.count()).select_from(Therapist)).one() == 1
    finally:
        get_settings.cache_clear()


def test_the_diligent_clients_plan_held_and_the_stopped_clients_did_not(session: Session) -> None:
    from app.services import plans

    demo.seed(session, base_url="http://demo.test")
    session.commit()
    therapist = session.exec(select(Therapist)).one()
    outcomes = {}
    for name in ("Alex", "Jo", "Sam"):
        client = session.exec(select(Client).where(Client.display_name == name)).one()
        outcomes[name] = [held.outcome for held in plans.for_brief(session, therapist=therapist, client=client)]
    assert outcomes == {"Alex": ["held"], "Jo": ["not_yet"], "Sam": []}


def test_alex_has_a_session_tomorrow_and_brought_something_to_it(session: Session) -> None:
    from app.services import brief, day_before

    now = utcnow()
    demo.seed(session, base_url="http://demo.test", now=now)
    session.commit()
    therapist = session.exec(select(Therapist)).one()
    alex = session.exec(select(Client).where(Client.display_name == "Alex")).one()

    upcoming = day_before.next_session(session, client=alex, now=now)
    assert upcoming is not None and timedelta(hours=12) < upcoming.starts_at - now <= timedelta(days=2)
    seen = brief.build(session, therapist=therapist, client_id=alex.id, now=now)
    assert seen.client_agenda.note.startswith("The presentation on Thursday")
    assert len(seen.client_agenda.picked) == 2
    assert [row.id for row in seen.agenda[:2]] == seen.client_agenda.picked
