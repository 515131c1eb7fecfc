"""The first minute after joining: keep or change the proposed reminder times, then the first record."""

from __future__ import annotations

from sqlmodel import select

from app.models import Reminder
from tests.factories import library_template, make_assignment, make_client, make_therapist, signed_in


def _setup(session):  # type: ignore[no-untyped-def]
    client = make_client(session, therapist=make_therapist(session), timezone="Europe/Madrid")
    assignment = make_assignment(
        session, client=client, template=library_template(session, "mood_log"), proposed_times=["08:30", "20:00"]
    )
    return client, assignment


def _reminder(session, assignment):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.exec(select(Reminder).where(Reminder.assignment_id == assignment.id)).one()


def test_the_welcome_shows_the_proposal_and_keeping_it_changes_nothing(web, session) -> None:
    client, assignment = _setup(session)
    phone = signed_in(web, session, client)
    page = phone.get("/c/welcome")
    assert page.status_code == 200
    assert 'value="08:30"' in page.text and 'value="20:00"' in page.text
    assert "Your therapist never sees" in page.text
    before = _reminder(session, assignment).updated_at
    kept = phone.post(
        "/c/welcome",
        data={
            f"r-{assignment.id}-shown": "1",
            f"r-{assignment.id}-times": ["08:30", "20:00"],
            "next": "record",
            "first": str(assignment.id),
        },
        follow_redirects=False,
    )
    assert kept.status_code == 303 and kept.headers["location"] == f"/c/record/{assignment.id}"
    assert _reminder(session, assignment).updated_at == before


def test_a_changed_time_is_kept_and_a_wrong_one_changes_nothing(web, session) -> None:
    client, assignment = _setup(session)
    phone = signed_in(web, session, client)
    wrong = phone.post(
        "/c/welcome", data={f"r-{assignment.id}-shown": "1", f"r-{assignment.id}-times": ["08:30", "7pm"]}
    )
    assert wrong.status_code == 422
    assert "is not a time of day like 08:30" in wrong.text and 'aria-invalid="true"' in wrong.text
    assert _reminder(session, assignment).times == ["08:30", "20:00"]

    changed = phone.post(
        "/c/welcome",
        data={f"r-{assignment.id}-shown": "1", f"r-{assignment.id}-times": ["08:30", "21:15"], "next": "today"},
        follow_redirects=False,
    )
    assert changed.status_code == 303 and changed.headers["location"] == "/c"
    reminder = _reminder(session, assignment)
    assert reminder.times == ["08:30", "21:15"] and reminder.weekdays == [1, 2, 3, 4, 5, 6, 7]


def test_only_the_clients_own_record_is_opened_after_the_welcome(web, session) -> None:
    client, _assignment = _setup(session)
    _other, stranger = _setup(session)
    phone = signed_in(web, session, client)
    answer = phone.post("/c/welcome", data={"next": "record", "first": str(stranger.id)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/c"


def test_a_time_zone_typed_on_the_welcome_counts_only_while_none_is_known(web, session) -> None:
    client, _assignment = _setup(session)
    phone = signed_in(web, session, client)
    phone.post("/c/welcome", data={"timezone": "Asia/Tokyo"})
    session.refresh(client)
    assert client.timezone == "Europe/Madrid"  # known: changed in Reminders or by the phone's question

    client.timezone_set_at = None
    session.add(client)
    session.commit()
    bad = phone.post("/c/welcome", data={"timezone": "Atlantis/Capital"})
    assert bad.status_code == 422 and "Unknown time zone" in bad.text
    session.refresh(client)
    assert client.timezone == "Europe/Madrid" and client.timezone_set_at is None
    phone.post("/c/welcome", data={"timezone": "Asia/Tokyo"})
    session.refresh(client)
    assert client.timezone == "Asia/Tokyo" and client.timezone_set_at is not None
