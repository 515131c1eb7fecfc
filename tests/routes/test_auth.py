"""Therapist sign-up/sign-in/sign-out, client invites, CSRF.

Sign-up through the emailed confirmation link is in test_signup.py."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select

from app.models import DeviceSession, Invite, Therapist
from app.models.types import utcnow
from app.services import invites
from app.web.render import SESSION_COOKIE
from tests.factories import PASSWORD, make_client, make_therapist


def _csrf(web) -> str:  # type: ignore[no-untyped-def]
    web.get("/")
    return web.cookies["between_csrf"]


def test_signup_bad_input_is_422_with_messages_and_stores_nothing(web, session) -> None:
    token = _csrf(web)
    response = web.post(
        "/signup", data={"email": "not-an-email", "display_name": "", "password": "short", "csrf_token": token}
    )
    assert response.status_code == 422
    assert "Enter an email address" in response.text
    assert "at least 10 characters" in response.text
    assert session.exec(select(Therapist)).all() == []


def test_signin_and_signout_revoke_the_server_side_session(web, session) -> None:
    therapist = make_therapist(session, email="me@example.org")
    token = _csrf(web)
    response = web.post(
        "/signin", data={"email": "me@example.org", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    cookie = web.cookies[SESSION_COOKIE]
    page = web.get("/t")
    assert page.status_code == 200
    # The CSRF token is bound to the session: the page after signing in carries a new one.
    fresh = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert fresh and fresh.group(1) != token
    assert web.post("/signout", data={"csrf_token": fresh.group(1)}, follow_redirects=False).status_code == 303
    device = session.exec(select(DeviceSession).where(DeviceSession.therapist_id == therapist.id)).one()
    session.refresh(device)
    assert device.revoked_at is not None
    # The old cookie no longer works, even if replayed.
    web.cookies.set(SESSION_COOKIE, cookie)
    assert web.get("/t", follow_redirects=False).status_code == 303


def test_signin_rotates_the_session_id(web, session) -> None:
    make_therapist(session, email="rot@example.org")
    token = _csrf(web)
    web.post("/signin", data={"email": "rot@example.org", "password": PASSWORD, "csrf_token": token})
    first = web.cookies[SESSION_COOKIE]
    token = _csrf(web)  # signing in gave the browser a token for its new session
    web.post("/signin", data={"email": "rot@example.org", "password": PASSWORD, "csrf_token": token})
    assert web.cookies[SESSION_COOKIE] != first
    assert session.exec(select(DeviceSession).where(DeviceSession.revoked_at.is_not(None))).first() is not None  # type: ignore[union-attr]


def test_wrong_password_is_400_and_sign_in_is_rate_limited(web, session, app) -> None:
    make_therapist(session, email="rl@example.org")
    token = _csrf(web)
    limit = app.state.settings.signin_max_attempts
    for _ in range(limit):
        response = web.post(
            "/signin", data={"email": "rl@example.org", "password": "wrong password!", "csrf_token": token}
        )
        assert response.status_code == 400
        assert "do not match" in response.text
    blocked = web.post("/signin", data={"email": "rl@example.org", "password": PASSWORD, "csrf_token": token})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many attempts" in blocked.text


def test_state_changing_request_without_csrf_token_is_403(web, session) -> None:
    make_therapist(session, email="c@example.org")
    _csrf(web)
    response = web.post("/signin", data={"email": "c@example.org", "password": PASSWORD})
    assert response.status_code == 403
    wrong = web.post("/signin", data={"email": "c@example.org", "password": PASSWORD, "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    assert SESSION_COOKIE not in web.cookies


def test_htmx_request_passes_csrf_in_header(web, session) -> None:
    make_therapist(session, email="h@example.org")
    token = _csrf(web)
    response = web.post(
        "/signin",
        data={"email": "h@example.org", "password": PASSWORD},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/t"


def test_invite_link_signs_phone_in_once(web, session, app) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    issued = invites.issue(session, therapist=therapist, client=client, hours=72)
    session.commit()
    token = _csrf(web)
    page = web.get(f"/invite/{issued.token}")
    assert page.status_code == 200
    assert "Continue on this phone" in page.text
    response = web.post("/join", data={"token": issued.token, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/c/welcome"  # the first phone starts with the first minute
    set_cookie = response.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "samesite=lax" in set_cookie.lower()
    assert (
        re.search(r"Max-Age=(\d+)", set_cookie) and int(re.search(r"Max-Age=(\d+)", set_cookie).group(1)) > 300 * 86400
    )  # type: ignore[union-attr]
    assert web.get("/c").status_code == 200

    second = TestClientFactory(app)
    t2 = _csrf(second)
    reused = second.post("/join", data={"token": issued.token, "csrf_token": t2})
    assert reused.status_code == 410
    assert "already been used" in reused.text
    second.close()


def TestClientFactory(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    return TestClient(app, base_url="http://testserver")


def test_invite_code_works_and_is_forgiving_about_spaces_and_case(web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    issued = invites.issue(session, therapist=therapist, client=client, hours=72)
    session.commit()
    token = _csrf(web)
    typed = issued.code[:4].lower() + " " + issued.code[4:].lower()
    response = web.post("/join", data={"code": typed, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303


def test_expired_and_unknown_invites_are_refused(web, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    issued = invites.issue(session, therapist=therapist, client=client, hours=72)
    invite = session.get(Invite, issued.invite.id)
    assert invite is not None
    invite.expires_at = utcnow() - timedelta(minutes=1)
    session.add(invite)
    session.commit()
    token = _csrf(web)
    expired = web.post("/join", data={"token": issued.token, "csrf_token": token})
    assert expired.status_code == 410
    assert "expired" in expired.text
    unknown = web.post("/join", data={"code": "ZZZZ9999", "csrf_token": token})
    assert unknown.status_code == 404
    assert "not valid" in unknown.text
    assert SESSION_COOKIE not in web.cookies


def test_a_new_invite_replaces_the_unused_one(session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    first = invites.issue(session, therapist=therapist, client=client, hours=72)
    invites.issue(session, therapist=therapist, client=client, hours=72)
    session.commit()
    import pytest

    from app.core.errors import Gone

    with pytest.raises(Gone):
        invites.redeem(session, token=first.token)


def test_signed_out_pages_redirect_and_api_says_401(web) -> None:
    assert web.get("/t", follow_redirects=False).headers["location"] == "/signin"
    assert web.get("/c", follow_redirects=False).headers["location"] == "/join"
    response = web.get("/api/v1/entries")
    assert response.status_code == 401
    assert response.json()["detail"] == "Please sign in."


def test_healthz_reports_database(web) -> None:
    response = web.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_security_headers_on_pages(web) -> None:
    response = web.get("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["vary"] == "HX-Request"
