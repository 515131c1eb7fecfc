"""Creating a client redirects to the invitation's page (a reload makes no second client), which
shows the link, the code and a QR code to the device that made it, for a few minutes, and to
no one else, ever."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import segno
from sqlmodel import select

from app.core.security import token_hash
from app.models import Client, Invite
from app.models.types import utcnow
from app.services import invites
from app.web.presenters import invite_handoff
from tests.factories import browser, make_client, make_therapist, signed_in


def _code(page: str) -> str | None:
    found = re.search(r'class="invite-code"[^>]*>([A-Z0-9 ]+)<', page)
    return found.group(1).replace(" ", "") if found else None


def _link(page: str) -> str | None:
    found = re.search(r'id="invite-link"[^>]*value="([^"]+)"', page)
    return found.group(1) if found else None


def test_creating_a_client_redirects_to_a_page_a_reload_only_shows_again(web, session) -> None:
    therapist = make_therapist(session)
    desk = signed_in(web, session, therapist)
    created = desk.post("/t/clients", data={"display_name": "Robin"}, follow_redirects=False)
    assert created.status_code == 303
    [client] = session.exec(select(Client)).all()
    location = created.headers["location"]
    assert location == f"/t/clients/{client.id}/invite"
    cookie = created.headers["set-cookie"]
    assert f"Path=/t/clients/{client.id}/invite" in cookie
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Max-Age=900" in cookie

    page = desk.get(location)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    code, link = _code(page.text), _link(page.text)
    assert code and link and "/invite/" in link
    # The link and code are the invitation's: they redeem it.
    token = link.rsplit("/", 1)[1]
    assert invites.pending(session, client_id=client.id)[0].token_hash == token_hash(token)
    # The QR code is inline SVG of the link itself, named for screen readers.
    assert 'role="img" aria-label="QR code of the invitation link for Robin"' in page.text
    drawn = segno.make(link, error="m", micro=False).svg_inline(scale=4, border=2, omitsize=True, dark="#000000")
    assert re.search(r'd="([^"]+)"', drawn).group(1) in page.text  # type: ignore[union-attr]
    # The token is in no URL but the invite link: not in the redirect, not in the cookie.
    assert token not in location and token not in cookie and code not in cookie

    # Reloading shows the same invitation again and makes nothing new.
    again = desk.get(location)
    assert _code(again.text) == code and _link(again.text) == link
    assert len(session.exec(select(Client)).all()) == 1
    assert len(session.exec(select(Invite)).all()) == 1


def test_the_address_after_posting_is_a_page_that_opens(web, session) -> None:
    desk = signed_in(web, session, make_therapist(session))
    answer = desk.get("/t/clients", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/t"


def test_no_time_zone_comes_from_the_therapists_browser(web, session) -> None:
    desk = signed_in(web, session, make_therapist(session))
    desk.post("/t/clients", data={"display_name": "Sam", "timezone": "Europe/Madrid"}, follow_redirects=False)
    client = session.exec(select(Client)).one()
    assert client.timezone == "UTC" and client.timezone_set_at is None
    assert 'name="timezone"' not in desk.get("/t/clients/new").text


def test_the_code_is_shown_on_no_other_device_and_not_after_it_is_used(app, web, session) -> None:
    therapist = make_therapist(session)
    desk = signed_in(web, session, therapist)
    created = desk.post("/t/clients", data={"display_name": "Kim"}, follow_redirects=False)
    location = created.headers["location"]
    code = _code(desk.get(location).text)
    assert code

    # The same therapist on another browser, with the cookie copied over: it is this device's only.
    other = signed_in(browser(app), session, therapist)
    other.cookies.set(invite_handoff.COOKIE, desk.cookies.get(invite_handoff.COOKIE), path=location)
    elsewhere = other.get(location)
    assert elsewhere.status_code == 200 and _code(elsewhere.text) is None and code not in elsewhere.text
    assert "Make a new invitation" in elsewhere.text
    other.close()

    # Another client's page does not open this client's cookie either.
    second = make_client(session, therapist=therapist)
    sealed = desk.cookies.get(invite_handoff.COOKIE)
    desk.cookies.set(invite_handoff.COOKIE, sealed, path=f"/t/clients/{second.id}/invite")
    assert code not in desk.get(f"/t/clients/{second.id}/invite").text

    # Once the client joins, the page says so and forgets the code.
    phone = browser(app)
    phone.get("/join")
    phone.post("/join", data={"code": code, "csrf_token": phone.cookies["between_csrf"]})
    phone.close()
    joined = desk.get(location)
    assert code not in joined.text and "has joined on their phone" in joined.text
    assert invite_handoff.COOKIE in joined.headers.get("set-cookie", "")


def _altered(sealed: str) -> str:
    """The sealed value with its first character changed (its nonce is random: it may be an "x")."""
    return ("y" if sealed[0] == "x" else "x") + sealed[1:]


def test_an_old_or_altered_cookie_shows_nothing(web, session, settings) -> None:
    therapist = make_therapist(session)
    desk = signed_in(web, session, therapist)
    client = make_client(session, therapist=therapist)
    issued = invites.issue(session, therapist=therapist, client=client, hours=72)
    session.commit()
    device_id = next(iter(_devices(session, therapist.id)))
    path = invite_handoff.path_for(client.id)

    def sealed(**when: datetime) -> str:
        return invite_handoff.seal(
            settings.secret_key,
            device_id=device_id,
            client_id=client.id,
            invite_id=issued.invite.id,
            token=issued.token,
            code=issued.code,
            **when,
        )

    old = sealed(now=utcnow() - timedelta(minutes=invite_handoff.MINUTES + 1))
    for value in (old, _altered(sealed()), "not-a-sealed-value"):
        desk.cookies.set(invite_handoff.COOKIE, value, path=path)
        page = desk.get(path)
        assert page.status_code == 200 and issued.code not in page.text and issued.token not in page.text
    # A fresh one opens.
    desk.cookies.set(invite_handoff.COOKIE, sealed(), path=path)
    assert _code(desk.get(path).text) == issued.code


def test_a_new_invitation_from_the_client_page_redirects_too(web, session) -> None:
    therapist = make_therapist(session)
    desk = signed_in(web, session, therapist)
    client = make_client(session, therapist=therapist)
    answer = desk.post(f"/t/clients/{client.id}/invite", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/t/clients/{client.id}/invite"
    assert _code(desk.get(answer.headers["location"]).text)


def test_another_therapist_cannot_open_or_make_an_invitation(app, web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    stranger = signed_in(web, session, make_therapist(session))
    assert stranger.get(f"/t/clients/{client.id}/invite").status_code == 404
    assert stranger.post(f"/t/clients/{client.id}/invite").status_code == 404
    assert session.exec(select(Invite)).all() == []


def _devices(session, therapist_id):  # type: ignore[no-untyped-def]
    from app.models import DeviceSession

    return [d.id for d in session.exec(select(DeviceSession).where(DeviceSession.therapist_id == therapist_id))]
