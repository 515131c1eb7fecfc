"""The JSON API the phone and the offline sync use: idempotent writes keyed by the client's UUID."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import func, select

from app.models import Entry
from tests.factories import current_version, make_assignment, make_client, signed_in


def _setup(web, session):  # type: ignore[no-untyped-def]
    client = make_client(session)
    assignment = make_assignment(session, client=client)
    return signed_in(web, session, client), client, assignment


def _count(session) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(Entry)).one())


def test_create_is_idempotent_on_the_client_uuid(web, session) -> None:
    phone, _client, assignment = _setup(web, session)
    body = {
        "id": str(uuid.uuid4()),
        "assignment_id": str(assignment.id),
        "answers": {"mood": 7, "note": "walked the dog"},
        "occurred_at": "2026-01-01T10:00:00Z",
    }
    body["occurred_at"] = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    first = phone.post("/api/v1/entries", json=body)
    assert first.status_code == 201, first.text
    again = phone.post("/api/v1/entries", json=body)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert _count(session) == 1
    stored = first.json()
    assert stored["answers"] == {"mood": 7, "note": "walked the dog"}
    assert stored["occurred_at"] != stored["logged_at"]


def test_same_uuid_with_different_content_is_409_and_keeps_the_original(web, session) -> None:
    phone, _client, assignment = _setup(web, session)
    entry_id = str(uuid.uuid4())
    phone.post("/api/v1/entries", json={"id": entry_id, "assignment_id": str(assignment.id), "answers": {"mood": 7}})
    clash = phone.post(
        "/api/v1/entries", json={"id": entry_id, "assignment_id": str(assignment.id), "answers": {"mood": 2}}
    )
    assert clash.status_code == 409
    assert "different content" in clash.json()["detail"]
    assert phone.get(f"/api/v1/entries/{entry_id}").json()["answers"] == {"mood": 7}


def test_invalid_answers_are_422_naming_the_field_and_store_nothing(web, session) -> None:
    phone, _client, assignment = _setup(web, session)
    cases = [
        ({"mood": 11}, "mood"),
        ({"mood": "seven"}, "mood"),
        ({"mood": 5, "colour": "blue"}, "colour"),
        ({"note": "no mood given"}, "mood"),
        ({"mood": 5, "note": "x" * 201}, "note"),
        ({"mood": True}, "mood"),
    ]
    for answers, field in cases:
        response = phone.post(
            "/api/v1/entries", json={"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": answers}
        )
        assert response.status_code == 422, (answers, response.text)
        assert field in response.json()["errors"], (answers, response.json())
    assert _count(session) == 0


def test_bad_uuid_and_malformed_json_are_422(web, session) -> None:
    phone, _client, assignment = _setup(web, session)
    response = phone.post("/api/v1/entries", json={"id": "not-a-uuid", "assignment_id": str(assignment.id)})
    assert response.status_code == 422
    assert "id" in response.json()["errors"]
    broken = phone.post("/api/v1/entries", content=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 422
    assert phone.get("/api/v1/entries/not-a-uuid").status_code == 422


def test_future_and_naive_times_are_rejected(web, session) -> None:
    phone, _client, assignment = _setup(web, session)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    response = phone.post(
        "/api/v1/entries",
        json={
            "id": str(uuid.uuid4()),
            "assignment_id": str(assignment.id),
            "answers": {"mood": 3},
            "occurred_at": future,
        },
    )
    assert response.status_code == 422
    assert "future" in response.json()["detail"]
    naive = phone.post(
        "/api/v1/entries",
        json={
            "id": str(uuid.uuid4()),
            "assignment_id": str(assignment.id),
            "answers": {"mood": 3},
            "occurred_at": "2026-01-01T10:00:00",
        },
    )
    assert naive.status_code == 422


def test_nothing_to_report_needs_no_answers(web, session) -> None:
    phone, _client, assignment = _setup(web, session)
    response = phone.post(
        "/api/v1/entries",
        json={"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "nothing_to_report": True},
    )
    assert response.status_code == 201
    assert response.json()["nothing_to_report"] is True


def test_unknown_template_version_gets_a_clear_message(web, session) -> None:
    phone, _client, assignment = _setup(web, session)
    response = phone.post(
        "/api/v1/entries",
        json={
            "id": str(uuid.uuid4()),
            "assignment_id": str(assignment.id),
            "template_version_id": str(uuid.uuid4()),
            "answers": {"mood": 3},
        },
    )
    assert response.status_code == 422
    assert "form has changed" in response.json()["detail"]


def test_update_delete_and_replay_after_delete(web, session) -> None:
    phone, _client, assignment = _setup(web, session)
    body = {"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": {"mood": 4}}
    phone.post("/api/v1/entries", json=body)
    patched = phone.patch(f"/api/v1/entries/{body['id']}", json={"visibility": "private", "answers": {"mood": 5}})
    assert patched.status_code == 200
    assert patched.json()["visibility"] == "private"
    assert patched.json()["answers"] == {"mood": 5}
    bad = phone.patch(f"/api/v1/entries/{body['id']}", json={"answers": {"mood": 50}})
    assert bad.status_code == 422
    assert phone.get(f"/api/v1/entries/{body['id']}").json()["answers"] == {"mood": 5}
    assert phone.delete(f"/api/v1/entries/{body['id']}").status_code == 204
    assert phone.get(f"/api/v1/entries/{body['id']}").status_code == 410
    replay = phone.post("/api/v1/entries", json=body)
    assert replay.status_code == 410
    assert "deleted" in replay.json()["detail"]
    assert phone.get("/api/v1/entries").json() == []


def test_list_and_today(web, session) -> None:
    phone, _client, assignment = _setup(web, session)
    version = current_version(session, assignment)
    today = phone.get("/api/v1/today").json()
    assert today[0]["complete"] is False
    assert today[0]["template_version_id"] == str(version.id)
    phone.post(
        "/api/v1/entries", json={"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": {"mood": 1}}
    )
    assert phone.get("/api/v1/today").json()[0]["complete"] is True
    listed = phone.get("/api/v1/entries").json()
    assert [item["answers"] for item in listed] == [{"mood": 1}]
    assert phone.get("/api/v1/assignments").json()[0]["id"] == str(assignment.id)


def test_api_write_with_cookie_needs_csrf_header(web, session) -> None:
    phone, _client, assignment = _setup(web, session)
    del phone.headers["X-CSRF-Token"]
    response = phone.post(
        "/api/v1/entries", json={"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": {"mood": 1}}
    )
    assert response.status_code == 403
    assert _count(session) == 0


def test_bearer_token_api_access_without_cookie(web, session) -> None:
    from app.models import SessionKind
    from app.services import device_sessions

    client = make_client(session)
    assignment = make_assignment(session, client=client)
    _device, token = device_sessions.start(session, kind=SessionKind.client, client_id=client.id, days=1)
    session.commit()
    response = web.post(
        "/api/v1/entries",
        json={"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": {"mood": 2}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201


def test_openapi_describes_the_entry_api(web) -> None:
    spec = web.get("/openapi.json").json()
    assert "/api/v1/entries" in spec["paths"]
    assert "post" in spec["paths"]["/api/v1/entries"]
    assert "409" in spec["paths"]["/api/v1/entries"]["post"]["responses"]


def test_entry_writes_keep_the_device_rules(web, session) -> None:
    """The write path reads the device as plain columns; whatever must be written or refused
    still is: last use and unlock time kept fresh, revoked and expired devices turned away."""
    from app.core.security import hash_password
    from app.models import DeviceSession, SessionKind
    from app.models.types import utcnow
    from app.services import device_sessions

    client = make_client(session)
    assignment = make_assignment(session, client=client)
    device, token = device_sessions.start(session, kind=SessionKind.client, client_id=client.id, days=1)
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}

    def post() -> int:
        body = {"id": str(uuid.uuid4()), "assignment_id": str(assignment.id), "answers": {"mood": 3}}
        return web.post("/api/v1/entries", json=body, headers=headers).status_code

    def stored_device() -> DeviceSession:
        session.expire_all()
        found = session.get(DeviceSession, device.id)
        assert found is not None
        return found

    long_ago = utcnow() - timedelta(hours=1)
    device.last_seen_at = long_ago
    session.add(device)
    session.commit()
    assert post() == 201
    assert stored_device().last_seen_at > long_ago

    # With a PIN, a write from an unlocked device moves its unlock time on like a page view.
    device = stored_device()
    client.pin_hash = hash_password("4821")
    unlocked = utcnow() - timedelta(minutes=30)
    device.unlocked_at = unlocked
    session.add_all([client, device])
    session.commit()
    assert post() == 201
    assert stored_device().unlocked_at > unlocked  # type: ignore[operator]

    device = stored_device()
    device.expires_at = utcnow() - timedelta(seconds=1)
    session.add(device)
    session.commit()
    assert post() == 401
    device = stored_device()
    device.expires_at = utcnow() + timedelta(days=1)
    device.revoked_at = utcnow()
    session.add(device)
    session.commit()
    assert post() == 401
    assert _count(session) == 2
