"""Changing a running record from the client page: the edit form, its errors, the client's
notice, the reminder times the client chose, "Stop" with a confirmation, and "Undo"."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select

from app.models import Assignment, AssignmentChange, ChangeKind, Frequency, Reminder
from app.models.types import utcnow
from app.services import reminders
from tests.factories import browser, make_assignment, make_client, make_template, make_therapist, signed_in


def _world(session):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name="Robin")
    template = make_template(session, therapist=therapist, title="Mood log")
    assignment = make_assignment(session, client=client, template=template, proposed_times=["08:30"])
    return therapist, client, assignment


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_therapist_changes_a_record_and_the_client_is_told(web, app, session) -> None:
    therapist, client, assignment = _world(session)
    desk = signed_in(web, session, therapist)
    page = desk.get(f"/t/clients/{client.id}")
    assert f'href="/t/assignments/{assignment.id}/edit"' in page.text
    form = desk.get(f"/t/assignments/{assignment.id}/edit")
    assert form.status_code == 200
    assert "Change Mood log for Robin" in _text(form.text)
    assert 'value="daily" aria-describedby="edit-frequency-daily-help" checked' in form.text
    saved = desk.post(
        f"/t/assignments/{assignment.id}/edit",
        data={
            "frequency": "times_per_day",
            "times_per_day": "2",
            "weekdays": ["1"],
            "weekly_day": "7",
            "instructions": "Morning and evening",
            "proposed_times": "08:30, 20:00",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"].startswith(f"/t/clients/{client.id}?changed={assignment.id}")
    after = _text(desk.get(saved.headers["location"]).text)
    assert "Saved. Robin will see what changed on their Today page." in after
    assert "2 times a day" in after and "Reminders: 08:30, 20:00, as you suggested." in after
    assert "1 change" in after

    with browser(app) as phone_browser:
        phone = signed_in(phone_browser, session, client)
        today = _text(phone.get("/c").text)
        assert "Your therapist changed: Mood log now 2 times a day." in today
        assert "New words from your therapist for Mood log: “Morning and evening”" in today
        assert "Reminders for Mood log now come at 08:30 and 20:00." in today
        record = _text(phone.get(f"/c/record/{assignment.id}").text)
        assert "Your therapist changed: Mood log now 2 times a day." in record
        gone = phone.post(f"/c/assignments/{assignment.id}/seen", data={"back": "record"}, follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"] == f"/c/record/{assignment.id}"
        assert "Your therapist changed" not in phone.get("/c").text
        # In Spanish, warm words too.
        phone.cookies.set("between_lang", "es")
        desk_change = desk.post(
            f"/t/assignments/{assignment.id}/edit",
            data={"frequency": "weekly", "weekly_day": "7", "proposed_times": "08:30, 20:00"},
            follow_redirects=False,
        )
        assert desk_change.status_code == 303
        assert "Tu terapeuta ha cambiado: Mood log ahora una vez a la semana, el domingo." in _text(
            phone.get("/c").text
        )


def test_the_therapist_sees_the_reminder_times_the_client_chose(web, session) -> None:
    therapist, client, assignment = _world(session)
    reminders.save(
        session,
        client=client,
        assignment_id=assignment.id,
        data=reminders.ReminderInput(times=["07:15", "21:40"]),
    )
    session.commit()
    desk = signed_in(web, session, therapist)
    page = _text(desk.get(f"/t/clients/{client.id}").text)
    assert re.search(r"Reminders the client chose: 07:15, 21:40 \(since \d+ \w+\)", page)
    form = _text(desk.get(f"/t/assignments/{assignment.id}/edit").text)
    assert "The client chose their own reminder times (07:15, 21:40" in form
    desk.post(
        f"/t/assignments/{assignment.id}/edit",
        data={"frequency": "daily", "proposed_times": "09:00"},
        follow_redirects=False,
    )
    reminder = session.exec(select(Reminder).where(Reminder.assignment_id == assignment.id)).one()
    session.refresh(reminder)
    assert reminder.times == ["07:15", "21:40"]  # the client's own stay theirs


def test_wrong_input_is_named_next_to_its_field_and_nothing_changes(web, session) -> None:
    therapist, _client, assignment = _world(session)
    desk = signed_in(web, session, therapist)
    for data, field, words in [
        (
            {"frequency": "daily", "proposed_times": "7pm"},
            "edit-proposed_times",
            "“7pm” is not a time of day like 08:30.",
        ),
        ({"frequency": "weekdays", "proposed_times": ""}, "edit-weekdays", "Choose at least one day."),
        ({"frequency": "times_per_day", "times_per_day": "1"}, "edit-times_per_day", "Enter 2 or more."),
        ({"frequency": "weekly", "weekly_day": "9"}, "edit-weekly_day", "Choose the day of the week."),
        ({"frequency": "hourly"}, None, "Choose how often."),
    ]:
        answer = desk.post(f"/t/assignments/{assignment.id}/edit", data=data)
        assert answer.status_code == 422, data
        html = answer.text
        assert "Please check the fields marked below." in html and words in _text(html)
        if field:
            assert f'id="{field}-error"' in html
            assert f'aria-describedby="{field}-error"' in html or f'{field}-error"' in html
    assert session.exec(select(AssignmentChange)).all() == []
    session.refresh(assignment)
    assert assignment.frequency is Frequency.daily and assignment.proposed_times == ["08:30"]


def test_stop_asks_first_and_can_be_undone_with_its_reminder(web, session) -> None:
    therapist, client, assignment = _world(session)
    desk = signed_in(web, session, therapist)
    page = desk.get(f"/t/clients/{client.id}").text
    # "Stop" is a link to a confirmation (works without JavaScript), no longer a form that acts at once.
    assert f'href="/t/assignments/{assignment.id}/end"' in page
    confirm = desk.get(f"/t/assignments/{assignment.id}/end")
    assert confirm.status_code == 200
    assert "Stop Mood log for Robin?" in _text(confirm.text) and "Keep it" in confirm.text
    session.refresh(assignment)
    assert assignment.ended_at is None  # asking changed nothing
    stopped = desk.post(f"/t/assignments/{assignment.id}/end", follow_redirects=False)
    assert stopped.status_code == 303
    after = _text(desk.get(f"/t/clients/{client.id}").text)
    assert "Stopped: Mood log." in after and "Undo" in after
    undone = desk.post(f"/t/assignments/{assignment.id}/restart", follow_redirects=False)
    assert undone.status_code == 303
    back = _text(desk.get(undone.headers["location"]).text)
    assert "Started again, with its reminders." in back and "Stopped: Mood log." not in back
    session.refresh(assignment)
    reminder = session.exec(select(Reminder).where(Reminder.assignment_id == assignment.id)).one()
    session.refresh(reminder)
    assert assignment.ended_at is None and reminder.times == ["08:30"] and reminder.next_due_at is not None
    kinds = [change.kind for change in session.exec(select(AssignmentChange).order_by(AssignmentChange.changed_at))]
    assert kinds == [ChangeKind.stopped, ChangeKind.restarted]


def test_an_old_stop_cannot_be_undone_and_strangers_see_nothing(web, app, session) -> None:
    therapist, client, assignment = _world(session)
    desk = signed_in(web, session, therapist)
    desk.post(f"/t/assignments/{assignment.id}/end")
    row = session.get(Assignment, assignment.id)
    assert row is not None
    row.ended_at = utcnow() - timedelta(days=2)
    session.add(row)
    session.commit()
    late = desk.post(f"/t/assignments/{assignment.id}/restart")
    assert late.status_code == 409 and "more than a day ago" in late.text
    assert "Stopped: Mood log." not in desk.get(f"/t/clients/{client.id}").text
    with browser(app) as other_browser:
        stranger = signed_in(other_browser, session, make_therapist(session))
        for method, path in [
            ("get", f"/t/assignments/{assignment.id}/edit"),
            ("post", f"/t/assignments/{assignment.id}/edit"),
            ("get", f"/t/assignments/{assignment.id}/end"),
            ("post", f"/t/assignments/{assignment.id}/restart"),
        ]:
            assert getattr(stranger, method)(path).status_code == 404, path


def test_once_a_week_is_assigned_with_its_day(web, session) -> None:
    therapist, client, assignment = _world(session)
    desk = signed_in(web, session, therapist)
    page = desk.get(f"/t/clients/{client.id}").text
    assert 'name="weekly_day"' in page  # the assign form asks for the day too
    made = desk.post(
        f"/t/clients/{client.id}/assignments",
        data={"template_id": str(assignment.template_id), "frequency": "weekly", "weekly_day": "3"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    weekly = session.exec(
        select(Assignment).where(Assignment.client_id == client.id, Assignment.frequency == Frequency.weekly)
    ).one()
    assert weekly.weekdays == [3]
    assert "once a week, on Wednesday" in _text(desk.get(f"/t/clients/{client.id}").text)
