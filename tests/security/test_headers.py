"""Security headers, session cookies, session rotation and signing out everywhere."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.core.security import token_hash
from app.main import create_app
from app.models import DeviceSession
from app.web.render import SESSION_COOKIE, TEMPLATES_DIR
from tests.factories import PASSWORD, browser, make_client, make_therapist, signed_in


def _csp(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/signin", "/join", "/healthz", "/does-not-exist", "/api/v1/entries"])
def test_every_answer_carries_the_security_headers(web, path: str) -> None:
    response = web.get(path, follow_redirects=False)
    csp = _csp(response)
    policy = response.headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert csp["script-src"] == "script-src 'self'"
    assert csp["style-src"] == "style-src 'self'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["object-src"] == "object-src 'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    permissions = dict(item.strip().split("=", 1) for item in response.headers["permissions-policy"].split(","))
    assert permissions.pop("microphone") == "(self)"
    assert all(value == "()" for value in permissions.values()), permissions
    # Plain http (local development): no HSTS, which would pin a laptop's localhost to https.
    assert "strict-transport-security" not in response.headers


def test_templates_hold_no_inline_script_style_or_handlers() -> None:
    problems = []
    for path in Path(TEMPLATES_DIR).rglob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"<script\b[^>]*>", text):
            if "src=" not in match.group(0):
                problems.append(f"{path.name}: inline <script>")
        # Email clients ignore stylesheets, so emails alone may carry inline styles;
        # they are never served under the page CSP.
        is_email = path.parent.name == "emails"
        if not is_email and (re.search(r"<style\b", text) or re.search(r"\sstyle=", text)):
            problems.append(f"{path.name}: inline style")
        if re.search(r"\son[a-z]+=", text):
            problems.append(f"{path.name}: inline event handler")
        if "javascript:" in text:
            problems.append(f"{path.name}: javascript: URL")
    assert problems == []


@pytest.fixture
def https_web(settings, engine) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    secure = settings.model_copy(update={"base_url": "https://between.example.org"})
    app = create_app(secure, engine=engine)
    with TestClient(app, base_url="https://between.example.org") as client:
        yield client


def _set_cookie(response, name: str) -> str:  # type: ignore[no-untyped-def]
    cookies = [
        value for key, value in response.headers.multi_items() if key == "set-cookie" and value.startswith(f"{name}=")
    ]
    assert cookies, f"no {name} cookie set"
    return cookies[0]


def _sign_in(web: TestClient, email: str):  # type: ignore[no-untyped-def]
    page = web.get("/signin")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    token = found.group(1)
    return web.post("/signin", data={"email": email, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)


def test_over_https_hsts_is_sent_and_cookies_are_secure(https_web: TestClient, session) -> None:
    therapist = make_therapist(session)
    response = https_web.get("/signin")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    # The CSRF cookie has the __Host- prefix: Secure, Path=/ and no Domain, so a sibling
    # subdomain cannot plant one.
    csrf = _set_cookie(response, "__Host-between_csrf")
    csrf_flags = {part.strip().lower() for part in csrf.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= csrf_flags
    assert not any(flag.startswith("domain") for flag in csrf_flags)
    assert not any(value.startswith("between_csrf=") for value in response.headers.get_list("set-cookie"))
    signed = _sign_in(https_web, therapist.email)
    assert signed.status_code == 303
    cookie = _set_cookie(signed, SESSION_COOKIE)
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= flags


def test_session_cookie_over_plain_http_is_httponly_and_lax(web, session) -> None:
    therapist = make_therapist(session)
    cookie = _set_cookie(_sign_in(web, therapist.email), SESSION_COOKIE)
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax"} <= flags


def test_production_settings_refuse_plain_http(settings) -> None:
    from app.core.settings import Environment, Settings

    with pytest.raises(ValueError, match="https"):
        Settings(
            environment=Environment.production,
            secret_key="k" * 40,
            base_url="http://between.example.org",
            database_url=settings.database_url,
            vapid_private_key="x",
            vapid_subject="mailto:ops@example.org",
        )


def test_sign_in_rotates_the_session_id_and_revokes_a_planted_one(web, session) -> None:
    therapist = make_therapist(session)
    first = _sign_in(web, therapist.email)
    planted = web.cookies[SESSION_COOKIE]
    second = _sign_in(web, therapist.email)
    assert first.status_code == second.status_code == 303
    fresh = web.cookies[SESSION_COOKIE]
    assert fresh != planted
    session.expire_all()
    old = session.exec(select(DeviceSession).where(DeviceSession.token_hash == token_hash(planted))).one()
    assert old.revoked_at is not None
    thief = browser(web.app)
    thief.cookies.set(SESSION_COOKIE, planted)
    assert thief.get("/t", follow_redirects=False).status_code == 303
    thief.close()


def test_therapist_signs_out_everywhere(app, session) -> None:
    therapist = make_therapist(session)
    laptop = signed_in(browser(app), session, therapist)
    phone = signed_in(browser(app), session, therapist)
    assert phone.get("/t").status_code == 200
    assert laptop.post("/t/signout-everywhere", follow_redirects=False).status_code == 303
    for web in (laptop, phone):
        assert web.get("/t", follow_redirects=False).status_code == 303
        web.close()


def test_client_signs_out_everywhere(app, session) -> None:
    client = make_client(session)
    other_client = make_client(session)
    phone = signed_in(browser(app), session, client)
    tablet = signed_in(browser(app), session, client)
    bystander = signed_in(browser(app), session, other_client)
    response = phone.post("/c/signout-everywhere", follow_redirects=False)
    assert response.status_code == 303
    assert "between_session=" in response.headers["set-cookie"]
    for web in (phone, tablet):
        assert web.get("/c", follow_redirects=False).status_code == 303
        assert web.get("/api/v1/entries").status_code == 401
        web.close()
    assert bystander.get("/c").status_code == 200
    bystander.close()
