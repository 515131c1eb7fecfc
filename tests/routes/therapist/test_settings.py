"""The therapist's settings page: the opt-in digest before each session."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session

from app.models import Therapist
from tests.factories import browser, make_client, make_therapist, signed_in


def _reloaded(session: Session, therapist: Therapist) -> Therapist:
    session.expire_all()
    found = session.get(Therapist, therapist.id)
    assert found is not None
    return found


def test_page_shows_the_current_setting_and_is_in_the_nav(app, session: Session) -> None:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    with signed_in(browser(app), session, therapist) as web:
        page = web.get("/t/settings")
    assert page.status_code == 200
    assert 'href="/t/settings"' in page.text and 'aria-current="page"' in page.text
    assert 'name="digest_hours_before"' in page.text and 'value="24"' in page.text
    [checkbox] = re.findall(r"<input[^>]*name=\"digest_enabled\"[^>]*>", page.text)
    assert "checked" not in checkbox  # off by default: opt-in


def test_turning_the_digest_on_and_choosing_the_hours(app, session: Session) -> None:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    with signed_in(browser(app), session, therapist) as web:
        saved = web.post(
            "/t/settings", data={"digest_enabled": "1", "digest_hours_before": "48"}, follow_redirects=False
        )
        assert saved.status_code == 303 and saved.headers["location"] == "/t/settings?saved=1"
        page = web.get("/t/settings?saved=1")
    assert "Saved." in page.text and 'value="48"' in page.text
    stored = _reloaded(session, therapist)
    assert stored.digest_enabled and stored.digest_hours_before == 48


def test_turning_it_off_keeps_the_hours(app, session: Session) -> None:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    with signed_in(browser(app), session, therapist) as web:
        web.post("/t/settings", data={"digest_enabled": "1", "digest_hours_before": "6"})
        web.post("/t/settings", data={"digest_hours_before": "6"})
    stored = _reloaded(session, therapist)
    assert not stored.digest_enabled and stored.digest_hours_before == 6


@pytest.mark.parametrize("hours", ["0", "73", "-5", "abc", "", "2.5", "100000"])
def test_hours_outside_1_to_72_are_refused_and_nothing_changes(app, session: Session, hours: str) -> None:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    with signed_in(browser(app), session, therapist) as web:
        answer = web.post("/t/settings", data={"digest_enabled": "1", "digest_hours_before": hours})
    assert answer.status_code == 422
    assert "Choose between 1 and 72 hours." in answer.text
    assert 'aria-invalid="true"' in answer.text
    stored = _reloaded(session, therapist)
    assert not stored.digest_enabled and stored.digest_hours_before == 24


def test_refusal_in_spanish(app, session: Session) -> None:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    with signed_in(browser(app), session, therapist) as web:
        web.cookies.set("between_lang", "es")
        answer = web.post("/t/settings", data={"digest_hours_before": "99"})
    assert answer.status_code == 422
    assert "Elige entre 1 y 72 horas." in answer.text


def test_clients_and_strangers_cannot_reach_it(app, session: Session) -> None:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    with signed_in(browser(app), session, client) as web:
        assert web.get("/t/settings", follow_redirects=False).status_code in (303, 401, 403)
        changed = web.post(
            "/t/settings", data={"digest_enabled": "1", "digest_hours_before": "2"}, follow_redirects=False
        )
        assert changed.status_code in (303, 401, 403)
    with browser(app) as anonymous:
        assert anonymous.get("/t/settings", follow_redirects=False).status_code == 303
        answer = anonymous.post(
            "/t/settings", data={"digest_enabled": "1", "digest_hours_before": "2"}, follow_redirects=False
        )
        assert answer.status_code in (303, 401, 403)
    stored = _reloaded(session, therapist)
    assert not stored.digest_enabled and stored.digest_hours_before == 24


def test_another_therapist_changes_only_their_own(app, session: Session) -> None:  # type: ignore[no-untyped-def]
    mine = make_therapist(session)
    other = make_therapist(session)
    with signed_in(browser(app), session, other) as web:
        web.post("/t/settings", data={"digest_enabled": "1", "digest_hours_before": "3"})
    assert _reloaded(session, other).digest_hours_before == 3
    untouched = _reloaded(session, mine)
    assert not untouched.digest_enabled and untouched.digest_hours_before == 24


def test_post_without_the_csrf_token_is_refused(app, session: Session) -> None:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    with signed_in(browser(app), session, therapist) as web:
        del web.headers["X-CSRF-Token"]
        answer = web.post("/t/settings", data={"digest_enabled": "1", "digest_hours_before": "2"})
    assert answer.status_code == 403
    assert not _reloaded(session, therapist).digest_enabled
