"""Open sign-up: the emailed link confirms the address and signs in; nothing tells a known
address from a new one; sign-up is limited per address. Email goes through a real SMTP
peer (aiosmtpd)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.core.security import token_hash
from app.main import create_app
from app.models import EmailVerification, Therapist
from app.models.types import utcnow
from app.web.render import SESSION_COOKIE
from tests.dispatch.smtp_peer import Inbox, parts, run_inbox
from tests.factories import PASSWORD, browser, make_therapist

LINK = re.compile(r"http://testserver/signup/verify/([A-Za-z0-9_-]+)")
FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    yield from run_inbox()


@pytest.fixture
def mail_app(settings, engine, inbox):  # type: ignore[no-untyped-def]
    return create_app(inbox.settings(settings), engine=engine)


@pytest.fixture
def desk(mail_app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with browser(mail_app) as web:
        yield web


def _form(web: TestClient, page: str) -> str:
    """The CSRF token of a page's form, as a browser would send it."""
    match = FIELD.search(web.get(page).text)
    assert match, page
    return match.group(1)


def _sign_up(web: TestClient, email: str, password: str = "a long password", name: str = "Dr New"):  # type: ignore[no-untyped-def]
    token = _form(web, "/signup")
    data = {"email": email, "display_name": name, "password": password, "csrf_token": token}
    return web.post("/signup", data=data, follow_redirects=False)


def _sign_in(web: TestClient, email: str, password: str):  # type: ignore[no-untyped-def]
    token = _form(web, "/signin")
    data = {"email": email, "password": password, "csrf_token": token}
    return web.post("/signin", data=data, follow_redirects=False)


def _confirm(web: TestClient, link_token: str):  # type: ignore[no-untyped-def]
    page = web.get(f"/signup/verify/{link_token}")
    assert page.status_code == 200, page.text
    token = FIELD.search(page.text)
    assert token
    return web.post("/signup/verify", data={"token": link_token, "csrf_token": token.group(1)}, follow_redirects=False)


def _link(message: EmailMessage) -> str:
    text, _html = parts(message)
    found = LINK.search(text)
    assert found, text
    return found.group(1)


def _to(inbox: Inbox, address: str) -> list[EmailMessage]:
    return [message for message in inbox.messages if message["To"] == address]


def test_signup_emails_a_link_that_confirms_the_address_and_signs_in(desk, session, inbox) -> None:
    response = _sign_up(desk, "New@Example.org")
    assert response.status_code == 200
    assert "Check your email" in response.text and "new@example.org" in response.text
    assert SESSION_COOKIE not in desk.cookies
    assert desk.get("/t", follow_redirects=False).status_code == 303

    therapist = session.exec(select(Therapist).where(Therapist.email == "new@example.org")).one()
    assert therapist.email_verified_at is None
    assert therapist.password_hash.startswith("$argon2id$")
    [message] = _to(inbox, "new@example.org")
    assert message["Subject"] == "Confirm your email for Between"
    link_token = _link(message)
    # Only the hash of the link's token is stored.
    [stored] = session.exec(select(EmailVerification)).all()
    assert stored.token_hash == token_hash(link_token) and link_token not in stored.token_hash
    assert stored.expires_at - utcnow() <= timedelta(hours=24)

    # Opening the link (as a mail scanner would) uses nothing.
    assert desk.get(f"/signup/verify/{link_token}").status_code == 200
    confirmed = _confirm(desk, link_token)
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/t"
    assert desk.get("/t").status_code == 200
    session.expire_all()
    assert session.get(Therapist, therapist.id).email_verified_at is not None
    assert session.exec(select(EmailVerification)).all() == []

    # Single use: the same link again does nothing.
    with browser(desk.app) as other:
        again = other.get(f"/signup/verify/{link_token}")
        assert again.status_code == 410 and "does not work any more" in again.text
        token = _form(other, "/signin")
        replay = other.post("/signup/verify", data={"token": link_token, "csrf_token": token}, follow_redirects=False)
        assert replay.status_code == 410
        assert SESSION_COOKIE not in other.cookies
        # And the password chosen at sign-up now signs in.
        assert _sign_in(other, "new@example.org", "a long password").status_code == 303


def test_an_unconfirmed_account_cannot_sign_in_and_can_ask_for_the_link_again(desk, session, inbox) -> None:
    _sign_up(desk, "wait@example.org", password="waiting password")
    wrong = _sign_in(desk, "wait@example.org", "not the password")
    # A wrong password says only that, as for any account.
    assert wrong.status_code == 400 and "do not match" in wrong.text
    assert "confirm" not in wrong.text.lower()

    right = _sign_in(desk, "wait@example.org", "waiting password")
    assert right.status_code == 403
    assert "confirm your email address first" in right.text and "wait@example.org" in right.text
    assert 'action="/signup/resend"' in right.text
    assert SESSION_COOKIE not in desk.cookies

    token = FIELD.search(right.text)
    assert token
    again = desk.post("/signup/resend", data={"email": "wait@example.org", "csrf_token": token.group(1)})
    assert again.status_code == 200 and "Check your email" in again.text
    first, second = _to(inbox, "wait@example.org")
    assert _link(first) != _link(second)
    assert _confirm(desk, _link(second)).status_code == 303
    assert desk.get("/t").status_code == 200
    # Confirming used up every link of the account.
    assert desk.get(f"/signup/verify/{_link(first)}").status_code == 410


def _normalized(web: TestClient, text: str, email: str) -> str:
    """A page without what differs by design: the address typed, and the browser's own tokens."""
    for value in web.cookies.values():
        text = text.replace(value, "TOKEN")
    return text.replace(email, "EMAIL")


def test_signing_up_with_a_known_address_looks_exactly_like_a_new_one(mail_app, session, inbox) -> None:
    owner = make_therapist(session, email="taken@example.org", name="Dr Owner")
    with browser(mail_app) as first, browser(mail_app) as second:
        known = _sign_up(first, "taken@example.org", password="someone else's", name="Intruder")
        new = _sign_up(second, "fresh@example.org", password="someone else's", name="Intruder")
        assert known.status_code == new.status_code == 200
        assert _normalized(first, known.text, "taken@example.org") == _normalized(second, new.text, "fresh@example.org")
        assert sorted(known.headers.keys()) == sorted(new.headers.keys())
        assert known.cookies.keys() == new.cookies.keys()

    # The owner hears of it and can sign in as before; nothing of the account changed.
    [note] = _to(inbox, "taken@example.org")
    assert note["Subject"] == "You already have a Between account"
    text, _html = parts(note)
    assert "Dr Owner" in text and "http://testserver/signin" in text and "/signup/verify/" not in text
    session.expire_all()
    stored = session.get(Therapist, owner.id)
    assert stored.display_name == "Dr Owner"
    assert session.exec(select(EmailVerification).where(EmailVerification.therapist_id == owner.id)).all() == []
    with browser(mail_app) as web:
        assert _sign_in(web, "taken@example.org", "someone else's").status_code == 400
        assert _sign_in(web, "taken@example.org", PASSWORD).status_code == 303


def test_the_address_owner_chooses_which_sign_up_becomes_the_account(mail_app, session, inbox) -> None:
    # Someone signs up first with an address that is not theirs; its owner signs up after.
    with browser(mail_app) as intruder:
        _sign_up(intruder, "owner@example.org", password="intruder password", name="Intruder")
    with browser(mail_app) as owner:
        _sign_up(owner, "owner@example.org", password="owner's password", name="Dr Owner")
        intruders_mail, owners_mail = _to(inbox, "owner@example.org")
        assert _confirm(owner, _link(owners_mail)).status_code == 303
    with browser(mail_app) as web:
        assert _sign_in(web, "owner@example.org", "intruder password").status_code == 400
        assert _sign_in(web, "owner@example.org", "owner's password").status_code == 303
        # The earlier sign-up's link stopped working when the address was confirmed.
        assert web.get(f"/signup/verify/{_link(intruders_mail)}").status_code == 410
    therapist = session.exec(select(Therapist).where(Therapist.email == "owner@example.org")).one()
    assert therapist.display_name == "Dr Owner"


def test_an_expired_link_does_not_confirm(desk, session, inbox) -> None:
    _sign_up(desk, "late@example.org")
    link_token = _link(_to(inbox, "late@example.org")[0])
    stored = session.exec(select(EmailVerification)).one()
    stored.expires_at = utcnow() - timedelta(minutes=1)
    session.add(stored)
    session.commit()
    page = desk.get(f"/signup/verify/{link_token}")
    assert page.status_code == 410 and "Sign in to get a new one" in page.text
    token = _form(desk, "/signin")
    assert desk.post("/signup/verify", data={"token": link_token, "csrf_token": token}).status_code == 410
    assert SESSION_COOKIE not in desk.cookies
    session.expire_all()
    assert session.exec(select(Therapist).where(Therapist.email == "late@example.org")).one().email_verified_at is None


def test_signup_is_limited_per_address_and_mail_per_mailbox(settings, engine, session, inbox) -> None:
    tight = inbox.settings(settings).model_copy(update={"signup_max_attempts": 3, "signup_mail_max": 1})
    with browser(create_app(tight, engine=engine)) as web:
        assert _sign_up(web, "one@example.org").status_code == 200
        # Again for the same mailbox: the same answer, but no second email.
        assert _sign_up(web, "one@example.org", password="another password").status_code == 200
        assert _sign_up(web, "two@example.org").status_code == 200
        blocked = _sign_up(web, "three@example.org")
        # "Send the link again" counts against the same limit.
        token = _form(web, "/signin")
        resend = web.post("/signup/resend", data={"email": "one@example.org", "csrf_token": token})
        assert resend.status_code == 429 and int(resend.headers["retry-after"]) > 0
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0 and "Too many attempts" in blocked.text
    assert [message["To"] for message in inbox.messages] == ["one@example.org", "two@example.org"]
    emails = set(session.exec(select(Therapist.email)))
    assert emails == {"one@example.org", "two@example.org"}


def test_without_smtp_in_development_the_link_is_printed_to_the_console(web, session, capfd) -> None:
    _sign_up(web, "local@example.org")
    printed = capfd.readouterr().err
    found = LINK.search(printed)
    assert found and "local@example.org" in printed
    assert _confirm(web, found.group(1)).status_code == 303
    assert web.get("/t").status_code == 200
