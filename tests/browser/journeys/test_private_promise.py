"""The private promise, walked: a therapist who signs a browser in with a new invitation
sees the shared records only, and the client's phone asks about the new device.

The therapist and the client each start from their first page and then only click,
tap and type. Both languages: the client reads their notices in Spanish.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.models import EntryCreate, Visibility
from app.services import entries
from tests.browser.live import DESKTOP, LiveServer
from tests.browser.people import client_with_records
from tests.browser.steps import WAIT_MS, wait_until

SECRET = "lo que nunca conté"
SHARED = "un martes cualquiera"
SPOKEN = (
    "lang => document.documentElement.lang === lang"
    " && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
)


def _speak(page: Any, lang: str) -> None:
    """Change the language with the footer's form, as a person does, and wait for the page
    in that language. The form is boosted: the document stays, so its load state says
    nothing, and a click before the swap could land on the page being replaced."""
    if page.evaluate("document.documentElement.lang") == lang:
        return
    page.locator("#locale-select").select_option(lang)
    page.locator("footer form button[type=submit]").click()
    wait_until(page, SPOKEN, lang)


def _write(server: LiveServer, person: Any, note: str, visibility: Visibility) -> None:
    with server.session() as session:
        entries.create(
            session,
            client=person.client,
            data=EntryCreate(
                id=uuid.uuid4(),
                assignment_id=person.assignments["free_note"].id,
                answers={"note": note},
                visibility=visibility,
            ),
        )
        session.commit()


@pytest.mark.parametrize("therapist_lang", ["en", "es"])
def test_a_reinvite_redeemed_by_the_therapist_shows_no_private_entry(
    browser: Any, phone_context: Any, live_server: LiveServer, therapist_lang: str
) -> None:
    person = client_with_records(live_server, "free_note")
    _write(live_server, person, SECRET, Visibility.private)
    _write(live_server, person, SHARED, Visibility.shared)

    # The client's own phone, in Spanish.
    live_server.sign_in(phone_context, person.client)
    phone = phone_context.new_page()
    phone.goto("/c/entries")
    _speak(phone, "es")
    assert SECRET in phone.locator("main").inner_text()

    # The therapist, on a laptop: the client's page, a new invitation; then a second
    # browser of their own redeems it.
    laptop_context = browser.new_context(**DESKTOP, base_url=live_server.url)
    other_context = browser.new_context(**DESKTOP, base_url=live_server.url)
    try:
        code = _new_invitation(laptop_context, live_server, person, therapist_lang)
        _redeem_and_look(other_context, phone, person, code)
    finally:
        for context in (laptop_context, other_context):
            context.close()


def _new_invitation(laptop_context: Any, live_server: LiveServer, person: Any, lang: str) -> str:
    live_server.sign_in(laptop_context, person.therapist)
    laptop = laptop_context.new_page()
    laptop.goto("/t")
    # The caseload draws itself again once in this browser's zone on a first visit: let it settle.
    laptop.wait_for_load_state("networkidle")
    _speak(laptop, lang)
    laptop.get_by_role("link", name=person.client.display_name).first.click()
    laptop.wait_for_url(f"**/t/clients/{person.client.id}", timeout=WAIT_MS)
    laptop.get_by_role("button", name="Nueva invitación" if lang == "es" else "New invitation").click()
    code = laptop.locator(".invite-code").first.inner_text().strip()
    assert code
    return str(code)


def _redeem_and_look(other_context: Any, phone: Any, person: Any, code: str) -> None:
    other = other_context.new_page()
    other.goto("/join")
    other.locator("input[name=code]").fill(code)
    other.locator("form:has(input[name=code]) button[type=submit]").click()
    other.wait_for_url("**/c**", timeout=WAIT_MS)
    notice = other.locator("#device-unconfirmed")
    assert notice.is_visible()
    other.locator("nav.main-nav a[href='/c/entries']").click()
    other.wait_for_url("**/c/entries", timeout=WAIT_MS)
    seen = other.locator("main").inner_text()
    assert SHARED in seen and SECRET not in seen

    # The client's phone asks, in their words, and signs the device out with one tap.
    phone.locator("nav.main-nav a[href='/c']").tap()
    phone.wait_for_url("**/c", timeout=WAIT_MS)
    waiting = phone.locator("[data-device-waiting]")
    assert waiting.is_visible()
    assert "Un dispositivo nuevo" in waiting.inner_text()
    assert person.therapist.display_name in waiting.inner_text()
    waiting.get_by_role("button", name="No fui yo: cerrar su sesión").tap()
    phone.wait_for_url("**/c/settings", timeout=WAIT_MS)
    history = phone.locator("#this-device").inner_text()
    assert "sesión cerrada" in history

    other.goto("/c/entries")
    assert "/join" in other.url or "/c/entries" not in other.url
