"""A device signed in with an invitation the therapist holds never shows a private entry.

The therapist issues invitations, so they can always sign a browser in as their
client. These tests walk that path through the real routes, as the therapist would,
and check every way a private entry could come out; then the ways the client
confirms a device that really is theirs.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.core.errors import Gone, NotFound
from app.models import AuditEvent, Client, DeviceSession, Entry, Visibility
from app.services import clients, invites
from tests.factories import (
    browser,
    make_assignment,
    make_client,
    make_template,
    make_therapist,
    signed_in,
)

SECRET = "the thing I never told anyone"
SHARED = "an ordinary Tuesday"
VOICE_FIELDS: list[dict[str, Any]] = [
    {"key": "mood", "type": "scale", "label": "Mood", "min": 0, "max": 10, "required": True},
    {"key": "note", "type": "short_text", "label": "Anything else?"},
    {"key": "voice", "type": "voice", "label": "Say it", "max_seconds": 60},
]
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + bytes(range(256)) * 4


def _csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def _join(web: TestClient, code: str) -> None:
    """Redeem an invitation code the way a person does: open /join, type, submit."""
    token = _csrf_of(web.get("/join").text)
    answer = web.post("/join", data={"code": code, "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    # Pages after sign-in carry the new session's CSRF token.
    web.headers["X-CSRF-Token"] = _csrf_of(web.get("/c/settings").text)


def _reinvite(therapist_web: TestClient, client: Client) -> str:
    page = therapist_web.post(f"/t/clients/{client.id}/invite")
    assert page.status_code == 200, page.text
    code = re.search(r'class="invite-code"[^>]*>([^<]+)<', page.text)
    assert code, "no invitation code on the page"
    return code.group(1).strip()


def _private_world(web: TestClient, session: Session, app: Any) -> dict[str, Any]:
    """A client with their phone (first device, confirmed), a private entry with a voice
    note, a shared entry, and their therapist signed in on a laptop."""
    therapist = make_therapist(session, name="Dr. Rivera")
    client = make_client(session, therapist=therapist)
    template = make_template(session, therapist=therapist, title="Voice diary", fields=VOICE_FIELDS)
    assignment = make_assignment(session, client=client, template=template)
    laptop = signed_in(browser(app), session, therapist)
    phone = web
    _join(phone, _reinvite(laptop, client))
    note_id = str(uuid.uuid4())
    upload = phone.post(
        "/api/v1/voice-notes", data={"id": note_id}, files={"file": ("note", WEBM, "application/octet-stream")}
    )
    assert upload.status_code == 201, upload.text
    private = {
        "id": str(uuid.uuid4()),
        "assignment_id": str(assignment.id),
        "answers": {"mood": 2, "note": SECRET, "voice": note_id},
        "visibility": "private",
    }
    shared = {
        "id": str(uuid.uuid4()),
        "assignment_id": str(assignment.id),
        "answers": {"mood": 6, "note": SHARED},
        "visibility": "shared",
    }
    for body in (private, shared):
        assert phone.post("/api/v1/entries", json=body).status_code == 201
    return {
        "therapist": therapist,
        "client": client,
        "assignment": assignment,
        "laptop": laptop,
        "phone": phone,
        "private_id": private["id"],
        "shared_id": shared["id"],
        "note_id": note_id,
    }


def _their_device(session: Session, client: Client) -> DeviceSession:
    """The client's newest device."""
    session.expire_all()
    devices = session.exec(
        select(DeviceSession).where(DeviceSession.client_id == client.id).order_by(DeviceSession.created_at)
    ).all()
    return devices[-1]


def test_a_therapist_who_redeems_a_reinvite_sees_no_private_entry_by_any_path(web, session, app) -> None:  # type: ignore[no-untyped-def]
    world = _private_world(web, session, app)
    laptop, client, phone = world["laptop"], world["client"], world["phone"]
    assert SECRET in phone.get("/c/entries").text  # the client's own phone shows it

    # The therapist makes a new invitation and redeems it in their own browser.
    _join(laptop, _reinvite(laptop, client))

    entries_page = laptop.get("/c/entries")
    assert entries_page.status_code == 200
    assert SHARED in entries_page.text
    assert SECRET not in entries_page.text
    assert "This device shows your shared records only." in entries_page.text
    assert SECRET not in laptop.get("/c").text
    assert SECRET not in laptop.get("/c/progress").text

    listed = laptop.get("/api/v1/entries")
    assert listed.status_code == 200
    assert {item["id"] for item in listed.json()} == {world["shared_id"]}
    assert laptop.get(f"/api/v1/entries/{world['private_id']}").status_code == 404
    assert laptop.get(f"/c/entries/{world['private_id']}").status_code == 404
    assert laptop.get(f"/api/v1/voice-notes/{world['note_id']}").status_code == 404

    # Nor can it make the entry shared, delete it, or download the archive.
    flip = laptop.patch(f"/api/v1/entries/{world['private_id']}", json={"visibility": "shared"})
    assert flip.status_code == 404
    assert laptop.delete(f"/api/v1/entries/{world['private_id']}").status_code == 404
    assert laptop.get("/c/export.zip").status_code == 403
    session.expire_all()
    stored = session.get(Entry, uuid.UUID(world["private_id"]))
    assert stored is not None and stored.visibility == Visibility.private and stored.deleted_at is None

    # Account-wide acts belong to the account holder's devices.
    therapists_device = _their_device(session, client)
    phones = session.exec(select(DeviceSession).where(DeviceSession.client_id == client.id)).all()
    real_phone = next(device for device in phones if device.confirmed_at is not None)
    assert laptop.post(f"/c/devices/{real_phone.id}/revoke").status_code == 403
    assert laptop.post("/c/signout-everywhere").status_code == 403
    assert laptop.post("/c/pin", data={"pin": "2468", "confirm": "2468"}).status_code == 403
    assert laptop.post("/c/delete-account", data={"confirm": "yes"}).status_code == 403
    session.expire_all()
    assert session.get(Client, client.id) is not None
    assert session.get(Client, client.id).pin_hash is None  # type: ignore[union-attr]
    assert therapists_device.confirmed_at is None
    assert therapists_device.invited_by_id == world["therapist"].id

    # The client's phone says so, plainly, and names who issued the invitation.
    today = phone.get("/c")
    assert "A new device" in today.text and "Dr. Rivera" in today.text
    settings_page = phone.get("/c/settings")
    assert "invitation from Dr. Rivera" in settings_page.text
    assert "not confirmed: shared records only" in settings_page.text
    privacy = phone.get("/c/privacy")
    assert "created a new invitation to sign a device in" in privacy.text


def test_a_device_the_therapist_revokes_stays_in_the_clients_history(web, session, app) -> None:  # type: ignore[no-untyped-def]
    world = _private_world(web, session, app)
    laptop, client, phone = world["laptop"], world["client"], world["phone"]
    intruder = browser(app)
    _join(intruder, _reinvite(laptop, client))
    device = _their_device(session, client)
    token = _csrf_of(laptop.get(f"/t/clients/{client.id}").text)
    revoked = laptop.post(f"/t/clients/{client.id}/devices/{device.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code in (200, 303)
    privacy = phone.get("/c/privacy").text
    assert "signed out by your therapist" in privacy
    assert "invitation from Dr. Rivera" in privacy
    assert "signed out one of your devices" in privacy
    intruder.close()


def test_an_unconfirmed_device_shows_the_private_entries_it_wrote_itself(web, session, app) -> None:  # type: ignore[no-untyped-def]
    world = _private_world(web, session, app)
    second = browser(app)
    _join(second, _reinvite(world["laptop"], world["client"]))
    mine = {
        "id": str(uuid.uuid4()),
        "assignment_id": str(world["assignment"].id),
        "answers": {"mood": 4, "note": "written on the new phone"},
        "visibility": "private",
    }
    assert second.post("/api/v1/entries", json=mine).status_code == 201
    listed = {item["id"] for item in second.get("/api/v1/entries").json()}
    assert listed == {world["shared_id"], mine["id"]}
    second.close()


def test_the_client_confirms_a_new_phone_from_the_old_one(web, session, app) -> None:  # type: ignore[no-untyped-def]
    world = _private_world(web, session, app)
    new_phone = browser(app)
    _join(new_phone, _reinvite(world["laptop"], world["client"]))
    assert SECRET not in new_phone.get("/c/entries").text
    device = _their_device(session, world["client"])

    # The unconfirmed device cannot confirm itself, nor another.
    assert new_phone.post(f"/c/devices/{device.id}/confirm").status_code == 403

    confirmed = world["phone"].post(f"/c/devices/{device.id}/confirm", follow_redirects=False)
    assert confirmed.status_code == 303
    assert SECRET in new_phone.get("/c/entries").text
    assert new_phone.get(f"/api/v1/voice-notes/{world['note_id']}").status_code == 200
    assert new_phone.get("/c/export.zip").status_code == 200
    new_phone.close()


def test_the_pin_confirms_a_new_device(web, session, app) -> None:  # type: ignore[no-untyped-def]
    world = _private_world(web, session, app)
    client = world["client"]
    set_pin = world["phone"].post("/c/pin", data={"pin": "2468", "confirm": "2468"}, follow_redirects=False)
    assert set_pin.status_code == 303
    # The phone is then lost; a new one is signed in with a fresh invitation.
    new_phone = browser(app)
    _join(new_phone, _reinvite(world["laptop"], client))
    page = new_phone.get("/c/settings").text
    assert "Confirm with my PIN" in page
    wrong = new_phone.post("/c/device/confirm-pin", data={"pin": "1111"})
    assert wrong.status_code == 422 and "That PIN is not right." in wrong.text
    assert SECRET not in new_phone.get("/c/entries").text
    right = new_phone.post("/c/device/confirm-pin", data={"pin": "2468"}, follow_redirects=False)
    assert right.status_code == 303
    assert SECRET in new_phone.get("/c/entries").text
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.client_id == client.id)).all()
    assert "device.confirmed_with_pin" in actions
    new_phone.close()


def test_a_lost_phone_without_pin_starts_with_shared_records_and_says_why(web, session, app) -> None:  # type: ignore[no-untyped-def]
    world = _private_world(web, session, app)
    client = world["client"]
    # The only phone is gone and signed out; there is no PIN.
    phone_device = _their_device(session, client)
    signed_out = world["phone"].post(f"/c/devices/{phone_device.id}/revoke", follow_redirects=False)
    assert signed_out.status_code == 303
    new_phone = browser(app)
    _join(new_phone, _reinvite(world["laptop"], client))
    settings_page = new_phone.get("/c/settings").text
    assert "cannot be confirmed" in settings_page
    assert "Your private entries are safe and not lost" in settings_page
    assert SECRET not in new_phone.get("/c/entries").text
    assert SHARED in new_phone.get("/c/entries").text
    new_phone.close()


def test_the_first_device_of_an_account_is_trusted_at_once(web, session, app) -> None:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    laptop = signed_in(browser(app), session, therapist)
    _join(web, _reinvite(laptop, client))
    device = _their_device(session, client)
    assert device.confirmed_at is not None
    assert "This device shows your shared records only." not in web.get("/c").text
    laptop.close()


def test_unlinking_revokes_pending_invitations(web, session, app) -> None:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    laptop = signed_in(browser(app), session, therapist)
    code = _reinvite(laptop, client)
    token = _csrf_of(laptop.get(f"/t/clients/{client.id}").text)
    assert laptop.post(f"/t/clients/{client.id}/unlink", data={"csrf_token": token}).status_code in (200, 303)
    join_token = _csrf_of(web.get("/join").text)
    answer = web.post("/join", data={"code": code, "csrf_token": join_token})
    assert answer.status_code in (404, 410)
    assert web.get("/c", follow_redirects=False).status_code in (302, 303, 307)
    laptop.close()


def test_an_invitation_from_a_former_therapist_is_refused(session) -> None:  # type: ignore[no-untyped-def]
    first = make_therapist(session)
    client = make_client(session, therapist=first)
    issued = invites.issue(session, therapist=first, client=client, hours=72)
    session.commit()
    # Linked to someone else since (no unlink ran to revoke it).
    client.therapist_id = make_therapist(session).id
    session.add(client)
    session.commit()
    with pytest.raises(Gone):
        invites.redeem(session, code=issued.code)


def test_reinvites_are_audited_and_only_for_own_clients(session) -> None:  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    stranger = make_therapist(session)
    with pytest.raises(NotFound):
        invites.issue(session, therapist=stranger, client=client, hours=72)
    issued = invites.issue(session, therapist=therapist, client=client, hours=72)
    session.commit()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "invite.issued")).one()
    assert (event.actor_id, event.client_id, event.subject_id) == (therapist.id, client.id, issued.invite.id)
    assert clients.unlink(session, therapist=therapist, client_id=client.id).therapist_id is None
    session.commit()
    assert invites.pending(session, client_id=client.id) == []


def test_the_archive_from_a_confirmed_device_holds_private_entries(web, session, app) -> None:  # type: ignore[no-untyped-def]
    world = _private_world(web, session, app)
    archive = world["phone"].get("/c/export.zip")
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert SECRET in opened.read("entries.jsonl").decode()
