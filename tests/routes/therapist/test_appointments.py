"""Sessions: scheduling, repeats across DST, moving, cancelling, and who may touch them."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from app.core.errors import Invalid, NotFound
from app.models import Appointment, Repeat
from app.models.types import utcnow
from app.services import appointments
from tests.factories import browser, make_client, make_therapist, signed_in


def _future_day(days: int = 7) -> date:
    return (utcnow() + timedelta(days=days)).date()


def _count(session) -> int:  # type: ignore[no-untyped-def]
    return len(session.exec(select(Appointment)).all())


# -- the service -------------------------------------------------------------------------------


def test_weekly_repeats_keep_the_local_time_across_dst(session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, timezone="America/New_York")
    now = datetime(2026, 2, 20, 12, tzinfo=UTC)
    first = appointments.local_start(date(2026, 3, 2), time(9, 0), timezone="America/New_York")
    created = appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=first,
        timezone="America/New_York",
        repeat=Repeat.weekly,
        now=now,
    )
    session.commit()
    zone = ZoneInfo("America/New_York")
    assert len(created) == 27  # 26 weeks ahead, both ends included
    assert {item.starts_at.astimezone(zone).time() for item in created} == {time(9, 0)}
    # 09:00 EST is 14:00 UTC; after 2026-03-08 09:00 EDT is 13:00 UTC.
    assert created[0].starts_at.hour == 14 and created[1].starts_at.hour == 13
    assert len({item.series_id for item in created}) == 1
    assert created[-1].starts_at <= now + appointments.HORIZON + timedelta(weeks=2)


def test_biweekly_repeats_and_the_series_can_be_extended(session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    now = utcnow()
    created = appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=now + timedelta(days=1),
        timezone="UTC",
        repeat="biweekly",
        now=now,
    )
    session.commit()
    assert [b.starts_at - a.starts_at for a, b in itertools.pairwise(created)] == [timedelta(weeks=2)] * (
        len(created) - 1
    )
    added = appointments.extend_series(session, now=now + timedelta(weeks=4))
    session.commit()
    assert added == 1
    assert appointments.extend_series(session, now=now + timedelta(weeks=4)) == 0


def test_a_time_skipped_by_the_clocks_is_refused() -> None:
    with pytest.raises(Invalid):
        appointments.local_start(date(2026, 3, 8), time(2, 30), timezone="America/New_York")
    with pytest.raises(Invalid):
        appointments.local_start(date(2026, 3, 9), time(9, 0), timezone="Mars/Olympus")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"starts_at": -timedelta(hours=1)}, "already passed"),
        ({"timezone": "Nowhere/Land"}, "Unknown time zone"),
        ({"duration_minutes": 2}, "between 5 minutes"),
        ({"repeat": "monthly"}, "repeats"),
    ],
)
def test_bad_sessions_are_refused_and_nothing_is_stored(session, change, message) -> None:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    args = {
        "starts_at": utcnow() + timedelta(days=2),
        "timezone": "UTC",
        "duration_minutes": 50,
        "repeat": "none",
    }
    if "starts_at" in change:
        args["starts_at"] = utcnow() + change["starts_at"]
    else:
        args.update(change)
    with pytest.raises(Invalid, match=message):
        appointments.schedule(session, therapist=therapist, client_id=client.id, **args)
    session.rollback()
    assert _count(session) == 0


def test_overlapping_sessions_of_the_same_therapist_are_refused(session) -> None:
    therapist = make_therapist(session)
    one = make_client(session, therapist=therapist)
    two = make_client(session, therapist=therapist)
    start = (utcnow() + timedelta(days=10)).replace(minute=0, second=0, microsecond=0)
    appointments.schedule(session, therapist=therapist, client_id=one.id, starts_at=start, timezone="UTC")
    session.commit()
    with pytest.raises(Invalid, match="overlaps"):
        appointments.schedule(
            session,
            therapist=therapist,
            client_id=two.id,
            starts_at=start + timedelta(minutes=30),
            timezone="UTC",
        )
    session.rollback()
    # A weekly series that would run into it a week later is refused as a whole.
    with pytest.raises(Invalid, match="overlaps"):
        appointments.schedule(
            session,
            therapist=therapist,
            client_id=two.id,
            starts_at=start - timedelta(weeks=1, minutes=-20),
            timezone="UTC",
            repeat="weekly",
        )
    session.rollback()
    # Right after it is fine; another therapist at the same time too.
    appointments.schedule(
        session,
        therapist=therapist,
        client_id=two.id,
        starts_at=start + timedelta(minutes=50),
        timezone="UTC",
    )
    other = make_therapist(session)
    theirs = make_client(session, therapist=other)
    appointments.schedule(session, therapist=other, client_id=theirs.id, starts_at=start, timezone="UTC")
    session.commit()
    assert _count(session) == 3


def test_another_therapists_client_is_not_found(session) -> None:
    mine = make_therapist(session)
    theirs = make_client(session)
    with pytest.raises(NotFound):
        appointments.schedule(
            session,
            therapist=mine,
            client_id=theirs.id,
            starts_at=utcnow() + timedelta(days=1),
            timezone="UTC",
        )


def test_moving_and_cancelling_change_last_and_next(session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    past_now = utcnow() - timedelta(days=20)
    created = appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=past_now + timedelta(hours=1),
        timezone="UTC",
        repeat="weekly",
        now=past_now,
    )
    session.commit()
    now = utcnow()
    around = appointments.around_one(session, client_id=client.id, now=now)
    past = [item for item in created if item.ends_at <= now]
    future = [item for item in created if item.starts_at > now]
    assert around.last is not None and around.last.id == past[-1].id
    assert around.next is not None and around.next.id == future[0].id
    assert around.since == past[-1].starts_at

    # Cancel the next one: the one after becomes next.
    appointments.cancel(session, therapist=therapist, appointment_id=future[0].id)
    session.commit()
    assert appointments.around_one(session, client_id=client.id, now=now).next.id == future[1].id  # type: ignore[union-attr]

    # Move it earlier, tomorrow: it is next again, and keeps its series.
    moved = appointments.move(
        session,
        therapist=therapist,
        appointment_id=future[1].id,
        starts_at=now + timedelta(days=1),
    )
    session.commit()
    assert moved.series_id == created[0].series_id
    assert appointments.around_one(session, client_id=client.id, now=now).next.id == moved.id  # type: ignore[union-attr]

    # A session that already happened cannot be moved or cancelled; a cancelled one cannot move.
    with pytest.raises(Invalid):
        appointments.move(session, therapist=therapist, appointment_id=past[-1].id, starts_at=now + timedelta(days=2))
    with pytest.raises(Invalid):
        appointments.cancel(session, therapist=therapist, appointment_id=past[-1].id)
    with pytest.raises(Invalid):
        appointments.move(session, therapist=therapist, appointment_id=future[0].id, starts_at=now + timedelta(days=3))

    # Cancel this and the following ones: nothing is next any more.
    appointments.cancel(session, therapist=therapist, appointment_id=moved.id, following=True)
    session.commit()
    assert appointments.around_one(session, client_id=client.id, now=now).next is None


def test_a_session_under_way_is_next_not_last(session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    now = utcnow()
    appointments.schedule(
        session,
        therapist=therapist,
        client_id=client.id,
        starts_at=now - timedelta(minutes=10),
        timezone="UTC",
        now=now - timedelta(hours=1),
    )
    session.commit()
    around = appointments.around_one(session, client_id=client.id, now=now)
    assert around.next is not None and around.last is None


# -- the pages and the API ---------------------------------------------------------------------


def test_schedule_move_and_cancel_through_the_pages(web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, timezone="Europe/Madrid")
    page = signed_in(web, session, therapist)
    form = page.get(f"/t/clients/{client.id}/sessions")
    assert form.status_code == 200
    assert 'value="Europe/Madrid"' in form.text
    day = _future_day()
    response = page.post(
        f"/t/clients/{client.id}/sessions",
        data={
            "date": day.isoformat(),
            "time": "10:00",
            "timezone": "Europe/Madrid",
            "duration_minutes": "50",
            "repeat": "none",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    created = session.exec(select(Appointment)).one()
    assert created.starts_at.astimezone(ZoneInfo("Europe/Madrid")).time() == time(10, 0)

    # Bad input: a clear 422 on the same page, nothing stored.
    for data in (
        {"date": "2001-01-01", "time": "10:00", "timezone": "Europe/Madrid"},
        {"date": day.isoformat(), "time": "10:20", "timezone": "Europe/Madrid"},
        {"date": day.isoformat(), "time": "12:00", "timezone": "Atlantis/Capital"},
        {"date": "soon", "time": "noon", "timezone": "UTC"},
    ):
        bad = page.post(f"/t/clients/{client.id}/sessions", data={"duration_minutes": "50", **data})
        assert bad.status_code == 422, data
        assert 'role="alert"' in bad.text
    session.expire_all()
    assert _count(session) == 1

    new_day = day + timedelta(days=1)
    moved = page.post(
        f"/t/sessions/{created.id}/move",
        data={"date": new_day.isoformat(), "time": "11:30"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    session.expire_all()
    again = session.get(Appointment, created.id)
    assert again is not None
    assert again.starts_at.astimezone(ZoneInfo("Europe/Madrid")).date() == new_day
    cancelled = page.post(f"/t/sessions/{created.id}/cancel", follow_redirects=False)
    assert cancelled.status_code == 303
    session.expire_all()
    assert session.get(Appointment, created.id).cancelled_at is not None  # type: ignore[union-attr]


def test_sessions_api_round_trip(web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    api = signed_in(web, session, therapist)
    start = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    created = api.post(
        f"/api/v1/therapist/clients/{client.id}/sessions",
        json={"starts_at": start.isoformat(), "timezone": "UTC", "repeat": "biweekly"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert len(body) == 14 and body[0]["notes"] == ""
    first = body[0]["id"]
    notes = api.put(f"/api/v1/therapist/sessions/{first}/notes", json={"notes": "Ask about sleep"})
    assert notes.status_code == 200 and notes.json()["notes"] == "Ask about sleep"
    moved = api.patch(
        f"/api/v1/therapist/sessions/{first}",
        json={"starts_at": (start + timedelta(hours=3)).isoformat()},
    )
    assert moved.status_code == 200
    past = api.patch(
        f"/api/v1/therapist/sessions/{first}",
        json={"starts_at": (utcnow() - timedelta(days=1)).isoformat()},
    )
    assert past.status_code == 422
    assert api.delete(f"/api/v1/therapist/sessions/{first}?following=true").status_code == 204
    listed = api.get(f"/api/v1/therapist/clients/{client.id}/sessions").json()
    assert all(item["cancelled_at"] for item in listed)
    bad_zone = api.post(
        f"/api/v1/therapist/clients/{client.id}/sessions",
        json={"starts_at": start.isoformat(), "timezone": "Nowhere"},
    )
    assert bad_zone.status_code == 422 and "time zone" in bad_zone.json()["detail"]


def test_other_therapists_and_clients_cannot_touch_sessions(app, web, session) -> None:
    owner = make_therapist(session)
    client = make_client(session, therapist=owner)
    start = utcnow() + timedelta(days=2)
    [appointment] = appointments.schedule(
        session, therapist=owner, client_id=client.id, starts_at=start, timezone="UTC"
    )
    appointment.notes = "Therapist-only thought"
    session.add(appointment)
    session.commit()

    intruder = signed_in(web, session, make_therapist(session))
    assert intruder.get(f"/t/clients/{client.id}/sessions").status_code == 404
    assert (
        intruder.post(
            f"/t/clients/{client.id}/sessions",
            data={"date": _future_day(3).isoformat(), "time": "09:00", "timezone": "UTC"},
        ).status_code
        == 404
    )
    for path in (f"/t/sessions/{appointment.id}/cancel", f"/t/sessions/{appointment.id}/notes"):
        assert intruder.post(path, data={"notes": "x"}).status_code == 404
    assert (
        intruder.post(
            f"/t/sessions/{appointment.id}/move", data={"date": _future_day(4).isoformat(), "time": "09:00"}
        ).status_code
        == 404
    )
    api_paths = [
        ("get", f"/api/v1/therapist/clients/{client.id}/sessions", None),
        (
            "post",
            f"/api/v1/therapist/clients/{client.id}/sessions",
            {"starts_at": (start + timedelta(days=1)).isoformat(), "timezone": "UTC"},
        ),
        (
            "patch",
            f"/api/v1/therapist/sessions/{appointment.id}",
            {"starts_at": (start + timedelta(days=1)).isoformat()},
        ),
        ("delete", f"/api/v1/therapist/sessions/{appointment.id}", None),
        ("put", f"/api/v1/therapist/sessions/{appointment.id}/notes", {"notes": "x"}),
    ]
    for method, path, body in api_paths:
        kwargs = {"json": body} if body is not None else {}
        assert getattr(intruder, method)(path, **kwargs).status_code == 404, path

    with browser(app) as phone:
        signed_in(phone, session, client)
        assert phone.get(f"/t/clients/{client.id}/sessions", follow_redirects=False).status_code in (
            303,
            307,
        )
        assert phone.post(
            f"/t/sessions/{appointment.id}/notes", data={"notes": "x"}, follow_redirects=False
        ).status_code in (303, 307)
        for method, path, body in api_paths:
            kwargs = {"json": body} if body is not None else {}
            assert getattr(phone, method)(path, **kwargs).status_code == 401, path
        # The client sees when, never the notes.
        upcoming = phone.get("/api/v1/sessions/upcoming")
        assert upcoming.status_code == 200
        assert upcoming.json()[0]["id"] == str(appointment.id)
        assert "notes" not in upcoming.json()[0]
        assert "Therapist-only thought" not in upcoming.text
        assert "Therapist-only thought" not in phone.get("/c/progress").text
    session.expire_all()
    kept = session.get(Appointment, appointment.id)
    assert kept is not None and kept.cancelled_at is None and kept.notes == "Therapist-only thought"
