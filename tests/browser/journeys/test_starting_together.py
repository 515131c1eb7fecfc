"""Starting together, in the session: the therapist invites on the laptop (a QR code, copy and
share), the client scans it and, within five taps of the join page, has joined, kept the
proposed reminder times, turned notifications on and saved a first record.

Taps are counted twice: by the test (every click or tap it makes) and by the page (every
trusted click event, kept in sessionStorage across the page loads of that tab).

Why the browser's push subscription is stubbed: Chromium subscribes at Google's push
service, which cannot be reached from here (see tests/browser/test_reminders_push.py, which
also delivers through a real push service). Here the stub answers with a subscription on
this machine; the permission, the button, push.js and the server's registration are real.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import col, select

from app.models import Client, DeviceSession, PushSubscription, Reminder
from tests.browser.journeys.journey import BROWSER_LOCALE, SIZES, Journey
from tests.browser.live import LiveServer
from tests.browser.steps import wait_until
from tests.browser.test_accessibility import SMALL_TARGETS
from tests.factories import library_template, make_assignment, make_therapist

Open = Callable[..., Journey]

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)

# Every trusted click (a tap ends in one), counted by the page itself across its page loads.
COUNT_TAPS = """
document.addEventListener("click", (event) => {
  if (event.isTrusted) {
    sessionStorage.setItem("taps", String(Number(sessionStorage.getItem("taps") || "0") + 1));
  }
}, true);
"""

# Safari on an iPhone, not on the home screen: no Web Push at all.
NO_WEB_PUSH = "delete window.PushManager;"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _stub_subscribe(server: LiveServer) -> str:
    """An init script making PushManager.subscribe answer with a valid subscription on loopback."""
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    endpoint = f"{server.url}/test-push/{uuid.uuid4().hex}"
    keys = {"p256dh": _b64url(raw), "auth": _b64url(os.urandom(16))}
    return f"""
(() => {{
  if (!window.PushManager) {{ return; }}
  const sub = {{
    endpoint: {endpoint!r}, expirationTime: null,
    toJSON() {{ return {{endpoint: this.endpoint, expirationTime: null, keys: {keys!r}}}; }},
    unsubscribe() {{ return Promise.resolve(true); }},
  }};
  PushManager.prototype.subscribe = function () {{ return Promise.resolve(sub); }};
}})();
"""


@pytest.fixture
def open_as(browser: Any, live_server: LiveServer) -> Iterator[Open]:
    """`open_as(size, lang, *, javascript=True, **context_options)`: a journey in its own browser."""
    opened: list[Journey] = []

    def open_(size: str, lang: str, *, javascript: bool = True, **options: Any) -> Journey:
        settings = {**SIZES[size], **options}
        context = browser.new_context(
            **settings, base_url=live_server.url, locale=BROWSER_LOCALE[lang], java_script_enabled=javascript
        )
        journey = Journey(server=live_server, context=context, size=size, lang=lang, javascript=javascript)
        opened.append(journey)
        return journey

    yield open_
    unchecked = [f"{j.size}/{j.lang}: {path}" for j in opened for path in j.unchecked()]
    for journey in opened:
        journey.context.close()
    assert not unchecked, "pages reached without journey.arrive(): " + ", ".join(unchecked)


def _client(server: LiveServer, name: str) -> Client:
    """The newest client of that name: the live server is shared by the whole run (the
    demo world of the accessibility test has a Jo too)."""
    with server.session() as session:
        found = session.exec(select(Client).where(Client.display_name == name).order_by(col(Client.created_at).desc()))
        return found.first()  # type: ignore[return-value]


def _assign_mood_log(server: LiveServer, client: Client, times: list[str]) -> None:
    with server.session() as session:
        make_assignment(
            session,
            client=session.get(Client, client.id),
            template=library_template(session, "mood_log"),
            proposed_times=times,
        )


def _invite(desk: Journey, name: str) -> str:
    """The therapist creates the client with the caseload's button; returns the invite link."""
    page = desk.page
    page.locator("a[href='/t/clients/new']").first.click()
    page.wait_for_url("**/t/clients/new")
    desk.arrive("start-new-client")
    page.get_by_label(desk._("Name or alias")).fill(name)
    page.get_by_role("button", name=desk._("Create invitation")).click()
    page.wait_for_url("**/t/clients/*/invite")
    desk.arrive("start-invite")
    return str(page.locator("#invite-link").input_value())


def test_in_the_session_the_client_is_recording_within_five_taps(open_as: Open, live_server: LiveServer) -> None:
    with live_server.session() as session:
        therapist = make_therapist(session, name="Dr. Lena Ortiz")

    desk = open_as("desktop", "en", timezone_id="Europe/Madrid")
    desk.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = desk.start("/t", who=therapist, name="start-caseload")
    link = _invite(desk, "Jo")

    # A QR code the client can scan from this screen, named for screen readers.
    qr = page.get_by_role("img", name=desk._("QR code of the invitation link for %(name)s", name="Jo"))
    assert qr.is_visible()
    assert desk._("QR code of the invitation link for %(name)s", name="Jo").startswith("QR code")
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 150 and abs(box["width"] - box["height"]) < 2
    # Copy puts the link on the clipboard and says so; Share is offered only where the browser shares.
    page.get_by_role("button", name=desk._("Copy link")).click()
    page.get_by_text(desk._("Link copied. Paste it into a message to your client.")).wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == link
    share = page.get_by_role("button", name=desk._("Share link"))
    assert share.is_visible() == page.evaluate("typeof navigator.share === 'function'")
    # A reload shows the same invitation again; nothing is created twice.
    code = page.locator(".invite-code").inner_text()
    page.reload()
    desk.arrive(None)
    assert page.locator(".invite-code").inner_text() == code
    with live_server.session() as session:
        # The live server is shared by the whole run: count this therapist's clients only.
        assert len(session.exec(select(Client).where(Client.therapist_id == therapist.id)).all()) == 1

    client = _client(live_server, "Jo")
    _assign_mood_log(live_server, client, ["08:30", "20:00"])

    # The client's phone, in Spanish and on New York time, scans the code: the link opens.
    phone = open_as("phone", "es", timezone_id="America/New_York")
    phone.context.grant_permissions(["notifications"], origin=live_server.url)
    phone.context.add_init_script(COUNT_TAPS)
    phone.context.add_init_script(_stub_subscribe(live_server))
    mobile = phone.start(link.removeprefix(live_server.url), name="start-join")
    taps = 0

    def tap(locator: Any) -> None:
        nonlocal taps
        taps += 1
        locator.tap()

    tap(mobile.get_by_role("button", name=phone._("Continue on this phone")))
    mobile.wait_for_url("**/c/welcome")
    phone.arrive("start-welcome")
    text = mobile.inner_text("main")
    for words in (
        phone._("Your therapist never sees"),
        phone._("Your phone is on %(place)s time, so your reminders are too.", place="Nueva York"),
        phone._("Your therapist suggested these times. Keep them, or change them: you have the final say."),
    ):
        assert words in text
    assert [mobile.locator("input[type=time]").nth(i).input_value() for i in range(2)] == ["08:30", "20:00"]
    assert mobile.evaluate(SMALL_TARGETS) == []  # every target thumb-sized

    tap(mobile.get_by_role("button", name=phone._("Turn on reminders on this phone")))
    mobile.get_by_text(phone._("Reminders are on for this phone.")).wait_for()
    phone.arrive("start-reminders-on")

    mood = phone._("Mood log")
    tap(mobile.get_by_role("button", name=phone._("Try %(title)s", title=mood)))
    mobile.wait_for_url("**/c/record/**")
    phone.arrive("start-first-record")
    tap(mobile.locator('label.pill:has(input[name="a.mood"][value="7"])'))
    tap(mobile.get_by_role("button", name=phone._("Save"), exact=True))
    mobile.wait_for_url("**/c?saved=1")
    phone.arrive("start-saved")

    assert taps <= 5, taps
    assert int(mobile.evaluate("sessionStorage.getItem('taps')")) == taps
    assert live_server.entry_count(client) == 1
    with live_server.session() as session:
        stored = session.get(Client, client.id)
        assert stored is not None and stored.timezone == "America/New_York"
        # The first device of the account is trusted at once (it may show private entries).
        [device] = session.exec(select(DeviceSession).where(DeviceSession.client_id == client.id)).all()
        assert device.confirmed_at is not None
        assert session.exec(select(PushSubscription).where(PushSubscription.client_id == client.id)).one()
        reminder = session.exec(select(Reminder).where(Reminder.client_id == client.id)).one()
        assert reminder.times == ["08:30", "20:00"]
        assert reminder.next_due_at is not None
        assert reminder.next_due_at.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") in ("08:30", "20:00")


def test_the_client_changes_a_proposed_time_with_the_code(open_as: Open, live_server: LiveServer) -> None:
    with live_server.session() as session:
        therapist = make_therapist(session)
    desk = open_as("desktop", "es", timezone_id="Europe/Madrid")
    desk.start("/t", who=therapist)
    _invite(desk, "Ari")
    code = desk.page.locator(".invite-code").inner_text()
    client = _client(live_server, "Ari")
    _assign_mood_log(live_server, client, ["08:30", "20:00"])

    phone = open_as("phone", "en", timezone_id="Europe/London")
    mobile = phone.start("/join", name="start-code")
    mobile.get_by_label(phone._("Invitation code")).fill(code)
    mobile.get_by_role("button", name=phone._("Continue"), exact=True).tap()
    mobile.wait_for_url("**/c/welcome")
    phone.arrive(None)
    evening = mobile.get_by_label(phone._("%(title)s: reminder %(n)s", title=phone._("Mood log"), n=2))
    evening.fill("21:15")
    mobile.get_by_role("button", name=phone._("Try %(title)s", title=phone._("Mood log"))).tap()
    mobile.wait_for_url("**/c/record/**")
    phone.arrive(None)
    with live_server.session() as session:
        reminder = session.exec(select(Reminder).where(Reminder.client_id == client.id)).one()
        assert reminder.times == ["08:30", "21:15"]
        assert session.get(Client, client.id).timezone == "Europe/London"  # type: ignore[union-attr]


def test_on_an_iphone_the_first_step_is_the_home_screen(open_as: Open, live_server: LiveServer) -> None:
    with live_server.session() as session:
        therapist = make_therapist(session)
    desk = open_as("desktop", "en")
    desk.start("/t", who=therapist)
    link = _invite(desk, "Cam")
    _assign_mood_log(live_server, _client(live_server, "Cam"), ["09:00"])

    phone = open_as("phone", "en", user_agent=IPHONE_SAFARI, timezone_id="Europe/Madrid")
    phone.context.add_init_script(NO_WEB_PUSH)
    mobile = phone.start(link.removeprefix(live_server.url))
    mobile.get_by_role("button", name=phone._("Continue on this phone")).tap()
    mobile.wait_for_url("**/c/welcome")
    phone.arrive("start-iphone")
    assert mobile.evaluate(SMALL_TARGETS) == []
    hint = mobile.locator("[data-ios-install]")
    assert hint.is_visible()
    picture = hint.get_by_role("img")
    assert picture.is_visible() and "Share button" in str(picture.get_attribute("alt"))
    wait_until(mobile, "document.querySelector('[data-ios-install] img').naturalWidth > 0")  # the picture loaded
    status = mobile.locator("[data-push-status]").inner_text()
    assert status == phone._(
        "On an iPhone or iPad, add Between to your home screen first, then open it from there and turn reminders on."
    )
    # Never blocking: the client may go straight to Today.
    mobile.get_by_role("link", name=phone._("Skip this for now")).tap()
    mobile.wait_for_url("**/c")
    phone.arrive(None)


def test_without_javascript_the_welcome_asks_where_the_client_is(open_as: Open, live_server: LiveServer) -> None:
    with live_server.session() as session:
        therapist = make_therapist(session)
    desk = open_as("desktop", "en")
    desk.start("/t", who=therapist)
    _invite(desk, "Dee")
    code = desk.page.locator(".invite-code").inner_text()
    client = _client(live_server, "Dee")
    _assign_mood_log(live_server, client, ["08:30"])

    phone = open_as("phone", "es", javascript=False)
    mobile = phone.start("/join")
    mobile.get_by_label(phone._("Invitation code")).fill(code)
    mobile.get_by_role("button", name=phone._("Continue"), exact=True).click()
    mobile.wait_for_url("**/c/welcome")
    phone.arrive("start-no-js")
    zone = mobile.get_by_label(phone._("Where are you?"))
    zone.fill("America/Argentina/Buenos_Aires")
    mobile.get_by_role("button", name=phone._("Try %(title)s", title=phone._("Mood log"))).click()
    mobile.wait_for_url("**/c/record/**")
    phone.arrive(None)
    with live_server.session() as session:
        stored = session.get(Client, client.id)
        assert stored is not None and stored.timezone == "America/Argentina/Buenos_Aires"
        reminder = session.exec(select(Reminder).where(Reminder.client_id == client.id)).one()
        assert reminder.next_due_at is not None
        assert reminder.next_due_at.astimezone(ZoneInfo(stored.timezone)).strftime("%H:%M") == "08:30"
