"""Offline "Not today, because…": a reason tapped on Today with no connection is kept on the
phone, said warmly to be waiting, and stored exactly once when the phone is back online."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from app.core import i18n
from app.models import BarrierCheckin
from app.models.types import utcnow
from tests.browser.live import PHONE, LiveServer
from tests.browser.people import Person
from tests.browser.steps import WAIT_MS, open_app, outbox, wait_outbox_empty
from tests.factories import library_template, make_assignment, make_client, make_therapist

LOCALES = {"en": "en-GB", "es": "es-ES"}


def _missed_yesterday(server: LiveServer, lang: str) -> Person:
    """A client whose mood log has asked for a week and was never written: yesterday was missed."""
    with server.session() as session:
        therapist = make_therapist(session)
        client = make_client(session, therapist=therapist, name=f"Noa {lang}", timezone="UTC")
        mood = make_assignment(session, client=client, template=library_template(session, "mood_log"))
        mood.created_at = utcnow() - timedelta(days=6)
        session.add(mood)
        session.commit()
        return Person(therapist, client, {"mood_log": mood})


def _checkins(server: LiveServer, person: Person) -> list[BarrierCheckin]:
    with server.session() as session:
        return list(session.exec(select(BarrierCheckin).where(BarrierCheckin.client_id == person.client.id)))


def _words(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).split())


@pytest.fixture(params=["en", "es"])
def phone(request: pytest.FixtureRequest, browser: Any, live_server: LiveServer) -> Iterator[tuple[Any, str]]:
    lang = str(request.param)
    context = browser.new_context(**PHONE, locale=LOCALES[lang], base_url=live_server.url)
    yield context, lang
    context.close()


def test_a_reason_tapped_on_today_offline_is_stored_once_when_back_online(
    phone: tuple[Any, str], live_server: LiveServer
) -> None:
    context, lang = phone
    catalog = i18n.translations(lang)

    def _(text: str, **values: str) -> str:
        return catalog.gettext(text) % values if values else catalog.gettext(text)

    person = _missed_yesterday(live_server, lang)
    page = open_app(context, live_server, person)

    context.set_offline(True)
    page.goto("/c")  # Today, from the phone
    prompt = page.locator("[data-barrier-prompt]")
    assert _("%(title)s wasn't written yesterday", title=_("Mood log")) in _words(prompt)
    reason = prompt.get_by_role("button", name=_("I had no time"))
    box = reason.bounding_box()
    assert box is not None and box["height"] >= 44
    reason.tap()

    waiting = _("Thank you for telling us. It is saved on this phone and will be sent by itself when you are online.")
    status = prompt.locator("[data-outbox-status][data-kind=waiting]")
    status.wait_for(timeout=WAIT_MS)
    assert _words(status) == waiting
    assert not reason.is_visible()  # answered: not asked again
    [item] = outbox(page)
    assert item["kind"] == "barrier" and item["body"]["reason"] == "no_time"
    uuid.UUID(item["id"])
    listed = page.locator("[data-outbox-list] [data-outbox-item]")
    listed.wait_for(timeout=WAIT_MS)
    assert _("%(title)s: not today, because…", title=_("Mood log")) in _words(listed)
    assert _("Saved on this phone, waiting to be sent.") in _words(listed)
    assert _checkins(live_server, person) == []

    # Opened again with no connection: still waiting, still not asked twice.
    page.reload()
    page.locator("[data-barrier-prompt] [data-outbox-status][data-kind=waiting]").wait_for(timeout=WAIT_MS)
    assert not page.get_by_role("button", name=_("I had no time")).is_visible()

    context.set_offline(False)
    wait_outbox_empty(page)
    page.locator("[data-barrier-prompt] [data-outbox-status][data-kind=sent]").wait_for(timeout=WAIT_MS)
    assert _("Thank you for telling us. That helps your therapist help you.") in _words(page.locator("main"))
    [stored] = _checkins(live_server, person)
    assert str(stored.id) == item["id"] and stored.reason == "no_time"
    assert stored.day == utcnow().date() - timedelta(days=1) and stored.visibility == "shared"

    # Sending it again (an old copy of the outbox) changes nothing; the phone shows the one check-in.
    page.evaluate("item => BetweenOutbox.add(item).then(() => BetweenOutbox.sync({force: true}))", item)
    wait_outbox_empty(page)
    assert len(_checkins(live_server, person)) == 1
    shown = page.evaluate("fetch('/api/v1/barriers', {headers: {Accept: 'application/json'}}).then(r => r.json())")
    assert [(entry["id"], entry["reason"]) for entry in shown] == [(item["id"], "no_time")]
    page.goto("/c")
    assert page.locator("[data-barrier-prompt]").count() == 0  # one question a day, and it was answered


def test_the_check_in_page_works_offline_with_a_note_and_a_voice_note(
    phone: tuple[Any, str], live_server: LiveServer
) -> None:
    """The page behind Today's "Add a note, or choose who sees this" is kept like a record form:
    offline, the client writes a note, records a voice note at 360 px by touch, taps a reason,
    and both reach the server once, with the check-in, when the phone is back online."""
    from app.models import VoiceNote
    from tests.browser.steps import wait_until

    context, lang = phone
    context.grant_permissions(["microphone"], origin=live_server.url)
    _ = i18n.translations(lang).gettext
    person = _missed_yesterday(live_server, lang)
    page = open_app(context, live_server, person)
    yesterday = (utcnow().date() - timedelta(days=1)).isoformat()
    kept = f"/c/barriers/new?assignment={person.assignments['mood_log'].id}&day={yesterday}"
    wait_until(page, "key => caches.open('between-pages').then(cache => cache.match(key)).then(Boolean)", kept)

    context.set_offline(True)
    page.goto("/c")
    page.locator("[data-barrier-prompt]").get_by_role("link", name=_("Add a note, or choose who sees this")).tap()
    page.wait_for_url("**/c/barriers/new?**")
    form = page.locator("form[data-barrier-form]")
    form.locator("details.more-options > summary").tap()
    form.get_by_label(_("A note (optional)")).fill("walrus words")
    record = form.get_by_role("button", name=_("Record a voice note"))
    box = record.bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= 360
    assert form.get_by_role("group", name=_("A voice note (optional)")).count() == 1
    record.tap()
    stop = form.locator("[data-rec-stop]")
    stop.wait_for(state="visible", timeout=WAIT_MS)
    page.wait_for_timeout(1200)  # a moment of the fake microphone's tone
    stop.tap()
    form.locator("[data-rec-playback]").wait_for(state="visible", timeout=WAIT_MS)
    status = form.locator("[data-rec-status]")
    assert _words(status) == _("Recorded. Listen to it, record again, or tap a reason above.")
    note_id = form.locator("[data-voice-input]").input_value()
    uuid.UUID(note_id)
    form.get_by_role("button", name=_("I had no time")).tap()
    form.locator("[data-outbox-status][data-kind=waiting]").wait_for(timeout=WAIT_MS)
    [item] = outbox(page)
    assert item["kind"] == "barrier" and item["voice"] == [note_id]
    assert item["body"]["voice_note_id"] == note_id and item["body"]["note"] == "walrus words"
    assert _checkins(live_server, person) == []

    context.set_offline(False)
    wait_outbox_empty(page)
    form.locator("[data-outbox-status][data-kind=sent]").wait_for(timeout=WAIT_MS)
    [stored] = _checkins(live_server, person)
    assert str(stored.id) == item["id"] and stored.note == "walrus words" and stored.reason == "no_time"
    with live_server.session() as session:
        spoken = session.get(VoiceNote, uuid.UUID(note_id))
        assert spoken is not None and spoken.barrier_checkin_id == stored.id
