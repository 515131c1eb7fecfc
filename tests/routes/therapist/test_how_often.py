"""How often a record is asked for, through the pages: the therapist's assign form and assigned
records, the client's reminder page (what a reminder does once the record is done, and the
reminders that stayed quiet, with why), delivery health, progress, the brief and Today."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from app.core.days import day_bounds, local_day
from app.library import THOUGHT_RECORD
from app.models import Assignment, Frequency, OccurrenceStatus, Reminder, ReminderOccurrence
from app.models.types import utcnow
from app.services import day_before, reminders
from tests.factories import library_template, make_assignment, make_client, make_therapist, signed_in
from tests.routes.insights_helpers import assign_since, daily_entries, future_session, past_session


def _text(page: str) -> str:
    """The page's words as a person reads them: tags gone, entities decoded, spaces collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def _assign(desk, client_id, template_id, **fields):  # type: ignore[no-untyped-def]
    data = {"template_id": str(template_id), "instructions": "", **fields}
    return desk.post(f"/t/clients/{client_id}/assignments", data=data, follow_redirects=False)


def test_the_assign_form_says_what_each_frequency_asks_and_what_reminders_do(web, session: Session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    page = signed_in(web, session, therapist).get(f"/t/clients/{client.id}")
    assert page.status_code == 200
    words = _text(page.text)
    for label in ("Usual for this record type", "Every day", "Several times a day", "On chosen weekdays"):
        assert label in words
    assert "When it happens" in words
    assert "Every entry counts and no day is ever missed. Reminders are optional check-ins." in words
    assert "Once today's entry is done, the day's other reminders stay quiet." in words
    assert "Each reminder asks for one entry until that many are done that day." in words
    assert "Entries on other days count as done extra" in words
    assert "“When it happens” for Thought record, ABC record, Urge log, Exposure log" in words
    assert "For an entry at each time, choose “Several times a day”." in words
    # "Usual" is preselected; every choice's words are tied to it for screen readers.
    assert re.search(r'<input type="radio" name="frequency" value=""[^>]*checked', page.text)
    for value in ("daily", "times_per_day", "weekdays", "weekly", "as_it_happens"):
        assert f'aria-describedby="frequency-{value}-help"' in page.text
        assert f'id="frequency-{value}-help"' in page.text


def test_event_records_are_kept_as_they_happen_unless_the_therapist_chooses(web, session: Session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    desk = signed_in(web, session, therapist)
    for slug in ("thought_record", "abc_record", "urge_log", "exposure_log", "mood_log"):
        assert _assign(desk, client.id, library_template(session, slug).id).status_code == 303
    chosen = _assign(desk, client.id, library_template(session, "thought_record").id, frequency="daily")
    assert chosen.status_code == 303
    session.expire_all()
    made = session.exec(select(Assignment).order_by(Assignment.created_at)).all()
    assert [item.frequency for item in made] == [Frequency.as_it_happens] * 4 + [Frequency.daily, Frequency.daily]


def test_several_times_a_day_means_two_or_more_and_is_stored_as_asked(web, session: Session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    desk = signed_in(web, session, therapist)
    mood = library_template(session, "mood_log").id

    refused = _assign(desk, client.id, mood, frequency="times_per_day", times_per_day="1")
    assert refused.status_code == 422
    assert "“Several times a day” means 2 or more entries a day." in _text(refused.text)
    assert session.exec(select(Assignment)).all() == []

    made = _assign(desk, client.id, mood, frequency="times_per_day", times_per_day="2", proposed_times="09:00, 20:00")
    assert made.status_code == 303
    # Entries a day only mean something for "several times a day".
    assert _assign(desk, client.id, mood, frequency="daily", times_per_day="2").status_code == 303
    session.expire_all()
    twice, daily = session.exec(select(Assignment).order_by(Assignment.created_at)).all()
    assert (twice.frequency, twice.times_per_day, twice.proposed_times) == (
        Frequency.times_per_day,
        2,
        ["09:00", "20:00"],
    )
    assert (daily.frequency, daily.times_per_day) == (Frequency.daily, 1)
    words = _text(desk.get(f"/t/clients/{client.id}").text)
    assert "Each reminder asks for one entry: 2 a day. Once 2 are done that day, the rest stay quiet." in words


def test_the_client_reminder_page_says_what_each_reminder_does_once_the_record_is_done(web, session: Session) -> None:
    client = make_client(session)
    mood = make_assignment(
        session, client=client, template=library_template(session, "mood_log"), proposed_times=["09:00", "20:00"]
    )
    make_assignment(
        session,
        client=client,
        template=library_template(session, "sleep_diary"),
        frequency=Frequency.times_per_day,
        times_per_day=2,
        proposed_times=["09:00", "20:00"],
    )
    make_assignment(session, client=client, template=library_template(session, "thought_record"))
    make_assignment(session, client=client, template=library_template(session, "urge_log"), proposed_times=["21:00"])
    phone = signed_in(web, session, client)

    words = _text(phone.get("/c/reminders").text)

    assert mood.frequency is Frequency.daily
    assert (
        "One entry a day: once today's Mood log is done, the day's later reminders stay quiet. "
        "For an entry at each reminder, choose “Several times a day”."
    ) in words
    assert "Each reminder asks for one entry: 2 a day. Once 2 are done that day, the rest stay quiet." in words
    assert "Reminders for Thought record are gentle check-ins: if something was already written that day" in words
    assert "Reminders for Urge log are gentle check-ins" in words
    # With one time, the words speak of "this reminder".
    reminders.save(
        session, client=client, assignment_id=mood.id, data=reminders.ReminderInput(times=("20:00",)), now=utcnow()
    )
    session.commit()
    assert "If today's Mood log is already done, this reminder stays quiet." in _text(phone.get("/c/reminders").text)


def _quiet(session: Session, reminder: Reminder, due_at: datetime, reason: str | None) -> None:
    session.add(
        ReminderOccurrence(
            reminder_id=reminder.id,
            client_id=reminder.client_id,
            due_at=due_at,
            status=OccurrenceStatus.suppressed,
            attempts=0,
            last_error=reason,
        )
    )
    session.commit()


def test_reminders_that_stayed_quiet_are_shown_with_why_and_counted_apart_from_failures(web, session: Session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, timezone="Europe/Madrid")
    assignment = make_assignment(
        session,
        client=client,
        template=library_template(session, "mood_log"),
        frequency=Frequency.weekdays,
        weekdays=[1, 3, 5],
        proposed_times=["20:00"],
    )
    reminder = reminders.for_assignment(session, assignment_id=assignment.id)
    assert reminder is not None
    zone = ZoneInfo(client.timezone)
    now = utcnow()
    today = local_day(now, timezone=client.timezone, boundary=client.day_boundary)
    today_start, _end = day_bounds(today, timezone=client.timezone, boundary=client.day_boundary)
    earlier = (today_start - timedelta(days=2)).astimezone(zone).replace(hour=19, minute=0).astimezone(ZoneInfo("UTC"))
    _quiet(session, reminder, today_start, "done")  # at 00:00 today, before anything else
    _quiet(session, reminder, earlier, "not_due")
    _quiet(session, reminder, earlier - timedelta(days=1), None)  # recorded before reasons were kept
    phone = signed_in(web, session, client)

    page = phone.get("/c/reminders")

    words = _text(page.text)
    assert "Reminders that stayed quiet" in words
    assert "Mood log · Stayed quiet at 00:00: today's record was already done." in words
    earlier_local = earlier.astimezone(zone)
    weekday = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[earlier_local.isoweekday() - 1]
    assert f"Stayed quiet at 19:00 on {weekday} {earlier_local.day}: the record is not set for that day." in words
    assert "that day's record was already done." in words
    assert "2 stayed quiet (already done)" in words and "1 stayed quiet (not a day for that record)" in words
    assert "missed" not in words.lower()
    # The therapist's delivery health counts them the same way, apart from failures.
    desk_words = _text(signed_in(web, session, therapist).get(f"/t/clients/{client.id}").text)
    assert "2 stayed quiet (already done)" in desk_words
    assert "Recently not delivered" not in desk_words
    # In Spanish too.
    phone = signed_in(web, session, client)
    phone.cookies.set("between_lang", "es")
    spanish = _text(phone.get("/c/reminders").text)
    assert "Recordatorios que no sonaron" in spanish
    assert "No sonó a las 00:00: el registro de hoy ya estaba hecho." in spanish
    assert "2 en silencio (ya estaba hecho)" in spanish


def test_progress_brief_and_today_count_what_happened_and_extra_days(web, session: Session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    thoughts = assign_since(session, client, days=20, slug="thought_record")
    assert thoughts.frequency is Frequency.as_it_happens
    today = local_day(utcnow(), timezone=client.timezone, boundary=client.day_boundary)
    # A weekday record set for the two days before yesterday's weekday: yesterday is not one of them.
    set_for = sorted({(today - timedelta(days=n)).isoweekday() for n in (2, 3)})
    chosen = assign_since(session, client, days=20, slug="mood_log", frequency=Frequency.weekdays, weekdays=set_for)
    daily_entries(session, client, thoughts, days=[1, 2, 2, 5], answers=dict(THOUGHT_RECORD.example))
    daily_entries(session, client, chosen, days=[1], answers={"mood": 6})
    past_session(session, therapist, client, days_ago=6)
    future_session(session, therapist, client, days=1)
    phone = signed_in(web, session, client)

    progress = phone.get("/c/progress")
    assert progress.status_code == 200
    words = _text(progress.text)
    assert "You wrote 4 entries in the last 7 days." in words
    assert "Done extra 1 day" in words
    assert "state-extra" in progress.text  # yesterday, in the mood log's calendar
    assert "Done extra" in words  # the calendar's key
    today_words = _text(phone.get("/c").text)
    assert "Whenever something happens" in today_words

    brief = signed_in(web, session, therapist).get(f"/t/clients/{client.id}/brief")
    assert brief.status_code == 200
    brief_words = _text(brief.text)
    assert "Thought record · when it happens" in brief_words
    assert "Since last session 4 entries" in brief_words
    assert "Current streak" not in brief_words[: brief_words.find("Mood log ·")]  # no streak for the thoughts
    assert "Done extra 1 day" in brief_words


def test_the_nudge_never_counts_a_record_kept_as_it_happens_as_missing(session: Session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assign_since(session, client, days=20, slug="thought_record")  # nothing written in 20 days
    upcoming = future_session(session, therapist, client, days=1)
    past_session(session, therapist, client, days_ago=8)

    assert day_before.missing_records(session, client=client, appointment_id=upcoming.id, now=utcnow()) == []

    assign_since(session, client, days=20, slug="mood_log")
    assert day_before.missing_records(session, client=client, appointment_id=upcoming.id, now=utcnow()) == ["Mood log"]
