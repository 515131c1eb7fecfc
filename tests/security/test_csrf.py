"""CSRF tokens are bound to the browser's session; over https the cookie is __Host- prefixed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.core.security import csrf_token
from app.main import create_app
from app.models import DeviceSession, Therapist
from app.web.render import CSRF_COOKIE, SESSION_COOKIE
from tests.factories import PASSWORD, browser, make_client, make_therapist, signed_in

EXPIRED = "This page has expired for your safety"
HTTPS = "https://between.example.org"


def _page_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _header_token(html: str) -> str:
    found = re.search(r'hx-headers=\'\{"X-CSRF-Token": "([^"]+)"\}\'', html)
    assert found, "no CSRF header on the page"
    return found.group(1)


def _live(session, therapist: Therapist) -> list[DeviceSession]:  # type: ignore[no-untyped-def]
    session.expire_all()
    statement = select(DeviceSession).where(
        DeviceSession.therapist_id == therapist.id,
        DeviceSession.revoked_at.is_(None),  # type: ignore[union-attr]
    )
    return list(session.exec(statement))


def test_a_planted_cookie_and_field_pair_is_refused(web, session) -> None:
    therapist = make_therapist(session, email="planted@example.org")
    # Equal cookie and field, made up: the old double-submit check would have let them through.
    for planted in ("x" * 43, "x" * 24 + "." + "y" * 43):
        web.cookies.set(CSRF_COOKIE, planted)
        refused = web.post("/signin", data={"email": therapist.email, "password": PASSWORD, "csrf_token": planted})
        assert refused.status_code == 403
        assert EXPIRED in refused.text
        assert SESSION_COOKIE not in web.cookies
    # The refusal page carries a good token, so reloading and trying again works.
    assert (
        web.post(
            "/signin",
            data={"email": therapist.email, "password": PASSWORD, "csrf_token": _page_token(web.get("/signin").text)},
            follow_redirects=False,
        ).status_code
        == 303
    )


def test_a_pair_made_on_another_browser_is_refused_for_a_signed_in_one(app, session) -> None:
    therapist = make_therapist(session)
    victim = signed_in(browser(app), session, therapist)
    # An attacker's own valid pair: taken from the sign-in page they loaded themselves.
    with browser(app) as attacker:
        theirs = _page_token(attacker.get("/signin").text)
        assert attacker.cookies[CSRF_COOKIE] == theirs  # a pair the app itself made
    victim.cookies.set(CSRF_COOKIE, theirs)
    victim.headers["X-CSRF-Token"] = theirs
    refused = victim.post("/t/signout-everywhere", follow_redirects=False)
    assert refused.status_code == 403
    assert len(_live(session, therapist)) == 1
    # Nor does a pair signed with another secret key.
    forged = csrf_token("some other key " + "z" * 32, session=victim.cookies[SESSION_COOKIE])
    victim.cookies.set(CSRF_COOKIE, forged)
    victim.headers["X-CSRF-Token"] = forged
    assert victim.post("/t/signout-everywhere", follow_redirects=False).status_code == 403
    assert len(_live(session, therapist)) == 1
    victim.close()


def test_a_token_from_one_session_does_not_work_with_another(app, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    laptop = signed_in(browser(app), session, therapist)
    phone = signed_in(browser(app), session, therapist)
    other = signed_in(browser(app), session, client)
    stolen = laptop.headers["X-CSRF-Token"]
    for target in (phone, other):
        target.cookies.set(CSRF_COOKIE, stolen)
        target.headers["X-CSRF-Token"] = stolen
    assert phone.post("/t/signout-everywhere", follow_redirects=False).status_code == 403
    assert other.post("/c/signout-everywhere", follow_redirects=False).status_code == 403
    assert len(_live(session, therapist)) == 2
    # With its own token the same request goes through.
    assert laptop.post("/t/signout-everywhere", follow_redirects=False).status_code == 303
    assert _live(session, therapist) == []
    for web in (laptop, phone, other):
        web.close()


def test_signing_in_and_out_gives_a_token_for_the_new_session(web, session) -> None:
    therapist = make_therapist(session)
    before = _page_token(web.get("/signin").text)
    signed = web.post(
        "/signin", data={"email": therapist.email, "password": PASSWORD, "csrf_token": before}, follow_redirects=False
    )
    assert signed.status_code == 303
    assert web.cookies[CSRF_COOKIE] != before
    page = web.get("/t")
    after = _header_token(page.text)
    assert after == _page_token(page.text) == web.cookies[CSRF_COOKIE]
    assert after != before
    # The token from before signing in no longer works; the page's new one does.
    stale = web.post("/t/settings", data={"csrf_token": before})
    assert stale.status_code == 403
    assert web.post("/signout", data={"csrf_token": after}, follow_redirects=False).status_code == 303
    # Signed out: the anonymous forms work again with the token the next page carries.
    again = _page_token(web.get("/signin").text)
    assert again != after
    assert (
        web.post(
            "/signin",
            data={"email": therapist.email, "password": PASSWORD, "csrf_token": again},
            follow_redirects=False,
        ).status_code
        == 303
    )


@pytest.fixture
def https_web(settings, engine) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    secure = settings.model_copy(update={"base_url": HTTPS})
    app = create_app(secure, engine=engine)
    with TestClient(app, base_url=HTTPS) as client:
        yield client


def test_over_https_the_cookie_is_host_prefixed_and_forms_work(https_web: TestClient, session) -> None:
    therapist = make_therapist(session)
    page = https_web.get("/signup")
    cookies = page.headers.get_list("set-cookie")
    (csrf,) = [value for value in cookies if "csrf" in value]
    name, _, rest = csrf.partition("=")
    assert name == "__Host-between_csrf"
    flags = {part.strip().lower() for part in rest.split(";")[1:]}
    assert {"secure", "path=/", "httponly", "samesite=lax"} <= flags
    assert not any(flag.startswith("domain") for flag in flags)

    # A plain between_csrf pair (what a sibling subdomain could set) is not even looked at.
    token = _page_token(page.text)
    https_web.cookies.set(CSRF_COOKIE, token)
    del https_web.cookies["__Host-between_csrf"]
    assert (
        https_web.post(
            "/signin", data={"email": therapist.email, "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 403
    )

    # The anonymous forms (sign-up, sign-in), then the page after signing in: every form works
    # with the token the page carries.
    token = _page_token(https_web.get("/signup").text)
    asked = https_web.post(
        "/signup",
        data={
            "email": "https@example.org",
            "display_name": "Dr Https",
            "password": "a long password",
            "csrf_token": token,
        },
    )
    assert asked.status_code == 200
    token = _page_token(https_web.get("/signin").text)
    signed = https_web.post(
        "/signin", data={"email": therapist.email, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert signed.status_code == 303
    assert any(value.startswith("__Host-between_csrf=") for value in signed.headers.get_list("set-cookie"))
    desk = https_web.get("/t")
    assert desk.status_code == 200
    assert (
        https_web.post("/signout", data={"csrf_token": _page_token(desk.text)}, follow_redirects=False).status_code
        == 303
    )
