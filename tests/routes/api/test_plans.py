"""Plans made together in the JSON API, from both sides, under the `agreements` tag."""

from __future__ import annotations

from tests.factories import browser, make_assignment, make_client, make_therapist, signed_in


def test_the_api_makes_a_plan_from_both_sides_under_agreements(app, session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    assignment = make_assignment(session, client=client)
    desk = signed_in(browser(app), session, therapist)
    phone = signed_in(browser(app), session, client)
    started = desk.post(f"/api/v1/therapist/clients/{client.id}/plans", json={"assignment_id": str(assignment.id)})
    assert started.status_code == 201
    plan_id = started.json()["id"]
    assert desk.post(f"/api/v1/therapist/clients/{client.id}/plans", json={}).json()["id"] == plan_id
    edited = desk.patch(f"/api/v1/therapist/plans/{plan_id}", json={"cue": "after lunch", "action": "rate it"})
    assert edited.status_code == 200 and edited.json()["first_line"] == "When after lunch, I will rate it."
    listed = phone.get("/api/v1/plans").json()
    assert [item["id"] for item in listed] == [plan_id]
    mine = phone.patch(f"/api/v1/plans/{plan_id}", json={"times": ["13:30"], "why": "Afternoons are hard"})
    assert mine.status_code == 200 and mine.json()["times"] == ["13:30"]
    done = phone.post(f"/api/v1/plans/{plan_id}/confirm", json={"version": mine.json()["version"]})
    assert done.status_code == 200 and done.json()["state"] == "confirmed"
    history = desk.get(f"/api/v1/therapist/plans/{plan_id}").json()["history"]
    assert [(item["kind"], item["actor"]) for item in history] == [
        ("started", "therapist"),
        ("edited", "therapist"),
        ("edited", "client"),
        ("confirmed", "client"),
    ]
    schema = desk.get("/openapi.json").json()
    tagged = {
        path
        for path, operations in schema["paths"].items()
        for operation in operations.values()
        if "agreements" in operation.get("tags", [])
    }
    assert {
        "/api/v1/plans",
        "/api/v1/plans/{plan_id}",
        "/api/v1/plans/{plan_id}/confirm",
        "/api/v1/therapist/clients/{client_id}/plans",
        "/api/v1/therapist/plans/{plan_id}",
        "/api/v1/therapist/plans/{plan_id}/discard",
    } <= tagged
    desk.close()
    phone.close()
