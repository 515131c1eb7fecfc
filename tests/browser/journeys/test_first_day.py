"""The first day, end to end: a therapist on a laptop signs up, confirms their email, invites a
client and assigns a mood log; the client, on a phone, joins with the code, logs a mood and
opens every item of the menu. In English and in Spanish, every page checked and photographed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlmodel import select

from app.models import Assignment, Entry
from tests.browser.journeys.conftest import OpenJourney
from tests.browser.journeys.journey import Journey
from tests.browser.live import LiveServer
from tests.dispatch.smtp_peer import Inbox, parts, run_inbox

LINK = re.compile(r"(/signup/verify/[A-Za-z0-9_-]+)")


@pytest.fixture
def inbox(live_server: LiveServer) -> Iterator[Inbox]:
    """The live server sends its email to a real SMTP peer for the length of the test."""
    for peer in run_inbox():
        before = live_server.app.state.settings
        live_server.app.state.settings = peer.settings(before)
        try:
            yield peer
        finally:
            live_server.app.state.settings = before


def confirmation_link(inbox: Inbox, page: object) -> str:
    # The email is sent once the answer is out.
    for _ in range(300):
        if inbox.messages:
            break
        page.wait_for_timeout(100)  # type: ignore[attr-defined]
    assert inbox.messages, "no confirmation email arrived"
    text, _html = parts(inbox.messages[-1])
    match = LINK.search(text)
    assert match, text
    return match.group(1)


def therapist_first_day(therapist: Journey, inbox: Inbox, email: str) -> str:
    """Sign up, confirm, invite Sam, assign a mood log; returns the invitation code."""
    page, _ = therapist.page, therapist._
    therapist.start("/", name="first-day-home")
    page.get_by_role("link", name=_("Create an account")).click()
    page.wait_for_url("**/signup")
    therapist.arrive("first-day-signup")
    page.get_by_label(_("Your name")).fill("Dr. Ana Ruiz")
    page.get_by_label(_("Email")).fill(email)
    page.get_by_label(_("Password (at least 10 characters)")).fill("a long enough password")
    page.get_by_role("button", name=_("Create account")).click()
    page.get_by_role("heading", level=1).wait_for()
    therapist.arrive("first-day-signup-sent")

    # The link in the email, opened in the same browser.
    page.goto(confirmation_link(inbox, page))
    therapist.arrive("first-day-confirm")
    page.get_by_role("button", name=_("Confirm and sign in")).click()
    page.wait_for_url("**/t")
    therapist.arrive("first-day-caseload-empty")

    page.get_by_role("link", name=_("Invite a client")).first.click()
    page.wait_for_url("**/t/clients/new")
    therapist.arrive("first-day-new-client")
    page.get_by_role("textbox").first.fill("Sam")
    page.get_by_role("main").get_by_role("button").last.click()
    page.locator(".invite-code").wait_for()
    therapist.arrive("first-day-invite")
    assert page.get_by_role(
        "img", name=re.compile(_("QR code of the invitation link for %(name)s", name="Sam"))
    ).is_visible()
    code = page.locator(".invite-code").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z0-9]{8}", code), code

    page.get_by_role("link", name=_("Go to %(name)s", name="Sam")).click()
    page.wait_for_url("**/t/clients/*")
    therapist.arrive("first-day-client-page")
    assign = page.get_by_role("region", name=_("Assigned records"))
    assign.get_by_label(_("Record type"), exact=True).select_option(label=_("Mood log"))
    page.get_by_label(_("Suggested reminder times, agreed together (e.g. 08:30, 21:00)")).fill("21:00")
    page.get_by_role("button", name=_("Assign"), exact=True).click()
    page.get_by_role("list").get_by_text(_("Mood log")).first.wait_for()
    therapist.arrive("first-day-assigned")
    return code


def client_first_day(client: Journey, code: str) -> None:
    """Join with the code, log a mood, open every menu item."""
    page, _ = client.page, client._
    client.start("/", name="first-day-phone-home")
    page.get_by_role("link", name=_("I have an invitation code")).tap()
    page.wait_for_url("**/join")
    client.arrive("first-day-join")
    page.get_by_label(_("Invitation code")).fill(f"{code[:4]}-{code[4:]}")
    page.get_by_role("button", name=_("Continue"), exact=True).tap()
    page.wait_for_url(re.compile(r"/c(/welcome)?$"))
    client.arrive("first-day-welcome")
    if page.url.endswith("/welcome"):
        page.get_by_role("link", name=_("Skip this for now")).tap()
        page.wait_for_url("**/c")
        client.arrive("first-day-today")

    page.get_by_role("link", name=_("Mood log")).first.tap()
    page.wait_for_url("**/c/record/**")
    client.arrive("first-day-mood")
    page.locator('label.pill:has(input[name="a.mood"][value="7"])').tap()
    page.get_by_role("button", name=_("Save"), exact=True).tap()
    page.wait_for_url("**/c?saved=1")
    client.arrive("first-day-saved")

    menu = page.get_by_role("navigation", name=_("Main"))
    for path, shot in [
        ("/c/entries", "first-day-entries"),
        ("/c/progress", "first-day-progress"),
        ("/c/reminders", "first-day-reminders"),
        ("/c/settings", "first-day-settings"),
        ("/c", "first-day-today-again"),
    ]:
        item = menu.locator(f'a[href="{path}"]')
        assert item.is_visible() and item.inner_text().strip()  # an icon with its word
        item.tap()
        page.wait_for_url(re.compile(re.escape(path) + "$"))
        client.arrive(shot)
        assert page.locator(f'nav a[aria-current="page"][href="{path}"]').is_visible()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_first_day_of_a_therapist_and_their_client(
    open_journey: OpenJourney, live_server: LiveServer, inbox: Inbox, lang: str
) -> None:
    therapist = open_journey("desktop", lang)
    email = f"first-day-{lang}@example.org"
    code = therapist_first_day(therapist, inbox, email)

    client = open_journey("phone", lang)
    client_first_day(client, code)

    with live_server.session() as session:
        assignment = session.exec(select(Assignment).order_by(Assignment.created_at.desc())).first()  # type: ignore[attr-defined]
        assert assignment is not None and assignment.proposed_times == ["21:00"]
        entries = session.exec(select(Entry).where(Entry.client_id == assignment.client_id)).all()
        assert len(entries) == 1
