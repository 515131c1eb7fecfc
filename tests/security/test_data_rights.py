"""Data rights: the client's download and account deletion, the therapist's exports, the access log."""

from __future__ import annotations

import csv
import io
import json
import uuid
import wave
import zipfile

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from sqlalchemy import String, cast, func, or_, select, text
from sqlmodel import Session, SQLModel

from app.models import AuditEvent, Client, PushSubscription, Visibility
from app.models.voice_note import VoiceNoteBlob
from app.services import account_deletion, voice_notes, voice_storage
from tests.factories import (
    browser,
    library_template,
    make_assignment,
    make_client,
    make_entry,
    make_template,
    make_therapist,
    signed_in,
)

SECRET = "zebra-secret-private-words"
SHARED = "otter-shared-words"

PHQ9_ITEMS = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"]
GAD7_ITEMS = ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"]

ALL_FIELDS = [
    {"key": "mood", "type": "scale", "label": "Mood", "min": 0, "max": 10, "required": True},
    {"key": "note", "type": "short_text", "label": "Anything else?"},
    {"key": "story", "type": "long_text", "label": "What happened"},
    {
        "key": "kind",
        "type": "single_choice",
        "label": "Where",
        "options": [{"value": "home", "label": "Home"}, {"value": "work", "label": "Work"}],
    },
    {
        "key": "tags",
        "type": "multi_choice",
        "label": "Tags",
        "options": [{"value": "a", "label": "Alone"}, {"value": "b", "label": "With others"}],
    },
    {
        "key": "feel",
        "type": "emotion",
        "label": "Emotions",
        "options": [{"value": "sad", "label": "Sad"}, {"value": "angry", "label": "Angry"}],
    },
    {"key": "ok", "type": "yes_no", "label": "Did it help?"},
    {"key": "cups", "type": "number", "label": "Cups", "unit": "cups", "integer": True},
    {"key": "weight", "type": "number", "label": "Weight"},
    {"key": "bed", "type": "time_of_day", "label": "Bedtime"},
    {"key": "slept", "type": "duration", "label": "Slept"},
    {
        "key": "likert",
        "type": "likert",
        "label": "Agree",
        "options": [{"value": "1", "label": "No"}, {"value": "2", "label": "Yes"}],
    },
    {"key": "voice", "type": "voice", "label": "Say it"},
]


def _wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x01" * 800)
    return buffer.getvalue()


def _world(session: Session):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session, name="Dr. Reader")
    client = make_client(session, therapist=therapist, name="Client Export")
    own = make_template(session, therapist=therapist, title="Everything form", fields=ALL_FIELDS)
    diary = make_assignment(session, client=client, template=own)
    phq = make_assignment(session, client=client, template=library_template(session, "phq9"))
    gad = make_assignment(session, client=client, template=library_template(session, "gad7"))
    full = {
        "mood": 5,
        "note": SHARED,
        "story": "line one\nline two, with a comma",
        "kind": "home",
        "tags": ["a", "b"],
        "feel": {"sad": 40},
        "ok": True,
        "cups": 3,
        "weight": 70.5,
        "bed": "23:15",
        "slept": 420,
        "likert": "2",
    }
    shared = make_entry(session, client=client, assignment=diary, answers=full)
    private = make_entry(
        session, client=client, assignment=diary, answers={"mood": 1, "note": SECRET}, visibility=Visibility.private
    )
    nothing = make_entry(
        session, client=client, assignment=diary, answers={}, nothing_to_report=True, visibility=Visibility.discuss
    )
    phq_answers = {f"item{n}": str(n % 4) for n in range(1, 10)} | {"difficulty": "somewhat"}
    phq_entry = make_entry(session, client=client, assignment=phq, answers=phq_answers)
    gad_entry = make_entry(session, client=client, assignment=gad, answers={f"item{n}": "1" for n in range(1, 8)})
    # A private PHQ-9 too: its answers must not reach any therapist export.
    make_entry(
        session,
        client=client,
        assignment=phq,
        answers={f"item{n}": "3" for n in range(1, 10)},
        visibility=Visibility.private,
    )
    made = {"shared": shared, "private": private, "nothing": nothing, "phq": phq_entry, "gad": gad_entry}
    return therapist, client, made


# ---------------------------------------------------------------------------
# The client's download


def test_client_download_holds_everything_including_private_entries_and_voice_notes(app, session, settings) -> None:
    therapist, client, made = _world(session)
    stored = voice_notes.store(session, client=client, data=_wav(), max_bytes=settings.voice_max_bytes, max_seconds=600)
    session.commit()
    desk = signed_in(browser(app), session, therapist)
    assert desk.get(f"/t/clients/{client.id}").status_code == 200  # an audited read
    phone = signed_in(browser(app), session, client)

    page = phone.get("/c/export")
    assert page.status_code == 200
    assert "/c/export.zip" in page.text

    response = phone.get("/c/export.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    assert "Client Export" not in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    names = set(archive.namelist())
    assert {
        "README.txt",
        "profile.json",
        "assignments.json",
        "assignments.csv",
        "entries.jsonl",
        "entries.csv",
        "devices.json",
        "devices.csv",
        "reminders.json",
        "sessions.json",
        "access_log.json",
        "access_log.csv",
    } <= names

    entries = [json.loads(line) for line in archive.read("entries.jsonl").decode().splitlines()]
    assert {entry["id"] for entry in entries} == {str(entry.id) for entry in made.values()} | {
        entry["id"] for entry in entries if entry["visibility"] == "private"
    }
    assert len(entries) == 6
    texts = json.dumps(entries)
    assert SECRET in texts and SHARED in texts

    rows = list(csv.DictReader(io.StringIO(archive.read("entries.csv").decode())))
    assert {row["entry_id"] for row in rows} == {entry["id"] for entry in entries}
    story = next(row for row in rows if row["question_key"] == "story")
    assert story["raw_answer"] == "line one\nline two, with a comma"
    assert any(row["answer"] == SECRET and row["visibility"] == "private" for row in rows)

    profile = json.loads(archive.read("profile.json"))
    assert profile["display_name"] == "Client Export"
    assert "pin_hash" not in profile
    assert profile["therapist"]["name"] == "Dr. Reader"
    devices = archive.read("devices.json").decode()
    assert "token_hash" not in devices
    access = json.loads(archive.read("access_log.json"))
    assert access and access[0]["who"] == "Dr. Reader"

    voice_names = [name for name in names if name.startswith("voice_notes/")]
    assert len(voice_names) == 1 and str(stored.note.id) in voice_names[0]
    assert archive.read(voice_names[0]) == _wav()
    desk.close()
    phone.close()


def test_the_download_is_only_ever_the_callers_own(app, session) -> None:
    _therapist, _client, _made = _world(session)
    other = make_client(session)
    phone = signed_in(browser(app), session, other)
    archive = zipfile.ZipFile(io.BytesIO(phone.get("/c/export.zip").content))
    assert archive.read("entries.jsonl") == b""
    assert SECRET.encode() not in b"".join(archive.read(name) for name in archive.namelist())
    anonymous = browser(app)
    assert anonymous.get("/c/export.zip", follow_redirects=False).status_code == 303
    phone.close()
    anonymous.close()


# ---------------------------------------------------------------------------
# The therapist's exports


def test_therapist_csv_has_shared_records_only_and_reads_back(app, session) -> None:
    therapist, client, made = _world(session)
    desk = signed_in(browser(app), session, therapist)
    response = desk.get(f"/t/clients/{client.id}/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert SECRET not in response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    ids = {row["entry_id"] for row in rows}
    assert ids == {str(made[key].id) for key in ("shared", "nothing", "phq", "gad")}
    assert {row["visibility"] for row in rows} == {"shared", "discuss"}
    assert next(row for row in rows if row["question_key"] == "note")["answer"] == SHARED
    desk.close()


def test_printable_report_is_print_ready_and_shared_only(app, session) -> None:
    therapist, client, made = _world(session)
    desk = signed_in(browser(app), session, therapist)
    response = desk.get(f"/t/clients/{client.id}/report")
    assert response.status_code == 200
    html = response.text
    assert SHARED in html and SECRET not in html
    assert "Client Export" in html
    # CSP-clean: no inline styles or scripts, a print stylesheet.
    assert "style=" not in html and "<style" not in html
    assert all("src=" in tag for tag in html.split("<script")[1:])
    assert "/static/css/report" in html
    assert str(made["phq"].score) in html
    css = desk.get(_stylesheet(html))
    assert css.status_code == 200 and "@media print" in css.text
    desk.close()


def _stylesheet(html: str) -> str:
    start = html.index('rel="stylesheet" href="') + len('rel="stylesheet" href="')
    return html[start : html.index('"', start)]


def test_fhir_bundle_is_valid_r4_with_loinc_codes_and_shared_records_only(app, session) -> None:
    therapist, client, made = _world(session)
    desk = signed_in(browser(app), session, therapist)
    response = desk.get(f"/t/clients/{client.id}/export.fhir.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert SECRET not in response.text
    data = response.json()
    bundle = Bundle.model_validate(data)
    assert bundle.type == "collection"
    questionnaires = {}
    responses = {}
    for item in data["entry"]:
        resource = item["resource"]
        if resource["resourceType"] == "Questionnaire":
            Questionnaire.model_validate(resource)
            questionnaires[resource["url"] + "|" + resource["version"]] = resource
        else:
            QuestionnaireResponse.model_validate(resource)
            responses[resource["id"]] = resource
    assert set(responses) == {str(made[key].id) for key in ("shared", "nothing", "phq", "gad")}
    for resource in responses.values():
        assert resource["questionnaire"] in questionnaires

    by_code = {q["code"][0]["code"]: q for q in questionnaires.values() if q.get("code")}
    phq = by_code["44249-1"]
    assert [item["code"][0]["code"] for item in phq["item"][:9]] == PHQ9_ITEMS
    assert phq["item"][0]["answerOption"][0]["valueCoding"]["code"] == "LA6568-5"
    gad = by_code["69737-5"]
    assert [item["code"][0]["code"] for item in gad["item"][:7]] == GAD7_ITEMS

    phq_response = responses[str(made["phq"].id)]
    answers = {item["linkId"]: item["answer"][0] for item in phq_response["item"]}
    assert answers["item1"]["valueCoding"]["code"] == "LA6569-3"  # "1": several days
    assert answers["score"]["valueInteger"] == made["phq"].score

    full = {item["linkId"]: item for item in responses[str(made["shared"].id)]["item"]}
    assert full["note"]["answer"][0]["valueString"] == SHARED
    assert full["mood"]["answer"][0]["valueInteger"] == 5
    assert [a["valueCoding"]["code"] for a in full["tags"]["answer"]] == ["a", "b"]
    assert full["feel"]["item"][0]["answer"][0]["valueInteger"] == 40
    assert full["bed"]["answer"][0]["valueTime"] == "23:15:00"
    assert full["slept"]["answer"][0]["valueQuantity"]["value"] == 420
    nothing = responses[str(made["nothing"].id)]
    assert nothing["item"][0]["linkId"] == "nothing_to_report"
    desk.close()


def test_every_export_and_read_is_audited_and_shown_to_the_client(app, session) -> None:
    therapist, client, _made = _world(session)
    desk = signed_in(browser(app), session, therapist)
    for path in ("", "/export.csv", "/report", "/export.fhir.json"):
        assert desk.get(f"/t/clients/{client.id}{path}").status_code == 200
    assert desk.get(f"/t/clients/{client.id}/export").status_code == 200
    session.expire_all()
    actions = [
        event.action for event in session.exec(select(AuditEvent).where(AuditEvent.client_id == client.id)).scalars()
    ]
    assert sorted(actions) == sorted(["entries.read", "export.csv", "export.report", "export.fhir"])

    phone = signed_in(browser(app), session, client)
    page = phone.get("/c/privacy")
    assert page.status_code == 200
    assert page.text.count("Dr. Reader") == 4
    assert "spreadsheet (CSV)" in page.text and "(FHIR)" in page.text
    desk.close()
    phone.close()


def test_another_therapist_cannot_export(app, session) -> None:
    _therapist, client, _made = _world(session)
    stranger = signed_in(browser(app), session, make_therapist(session))
    for path in ("/export", "/export.csv", "/report", "/export.fhir.json"):
        response = stranger.get(f"/t/clients/{client.id}{path}")
        assert response.status_code == 404, path
        assert SHARED not in response.text
    assert session.exec(select(AuditEvent).where(AuditEvent.action.like("export%"))).first() is None  # type: ignore[attr-defined]
    stranger.close()


# ---------------------------------------------------------------------------
# Deleting the account


def _mentions(session: Session, client_id: uuid.UUID) -> list[str]:
    """Every row of every table with the client's id anywhere in it."""
    found = []
    needles = [str(client_id), client_id.hex]
    for table in SQLModel.metadata.sorted_tables:
        conditions = [cast(column, String).contains(needle) for column in table.c for needle in needles]
        count = session.execute(select(text("count(*)")).select_from(table).where(or_(*conditions))).scalar()
        if count:
            found.append(f"{table.name}: {count}")
    return found


def test_deleting_the_account_leaves_nothing_behind(app, session, settings) -> None:
    therapist, client, _made = _world(session)
    client_id = client.id
    stored = voice_notes.store(session, client=client, data=_wav(), max_bytes=settings.voice_max_bytes, max_seconds=600)
    session.add(
        PushSubscription(
            client_id=client.id, endpoint=f"https://push.example/{uuid.uuid4()}", p256dh="k" * 80, auth="a" * 22
        )
    )
    session.commit()
    keep = make_client(session, therapist=therapist, name="Stays")
    keep_assignment = make_assignment(session, client=keep)
    make_entry(session, client=keep, assignment=keep_assignment)
    desk = signed_in(browser(app), session, therapist)
    desk.get(f"/t/clients/{client.id}/report")
    phone = signed_in(browser(app), session, client)
    phone.post("/c/pin", data={"pin": "2468", "confirm": "2468"})
    phone.post("/c/unlock", data={"pin": "0000"})  # a counted PIN try, keyed by the client
    note_id = stored.note.id
    assert voice_storage.current().read(session, note_id=note_id) == _wav()
    assert _mentions(session, client.id)

    page = phone.get("/c/delete-account")
    assert page.status_code == 200 and "cannot be undone" in page.text
    unconfirmed = phone.post("/c/delete-account", data={})
    assert unconfirmed.status_code == 422
    assert session.get(Client, client.id) is not None

    done = phone.post("/c/delete-account", data={"confirm": "yes"}, follow_redirects=False)
    assert done.status_code == 200
    assert "between_session=" in done.headers.get("set-cookie", "")
    session.expire_all()
    assert _mentions(session, client_id) == []
    # The audio went in the same transaction (voice_note_blob is keyed by the note, not the client).
    assert voice_storage.current().read(session, note_id=note_id) is None
    assert session.execute(select(func.count()).select_from(VoiceNoteBlob)).scalar() == 0
    # The phone is signed out; the other client is untouched.
    assert phone.get("/c", follow_redirects=False).status_code == 303
    assert session.get(Client, keep.id) is not None
    # The therapist learns that a client left, and nothing else.
    assert account_deletion.departures(session, therapist_id=therapist.id)
    caseload = desk.get("/t")
    assert caseload.status_code == 200
    assert "A client deleted their Between account" in caseload.text
    assert "Client Export" not in caseload.text and SHARED not in caseload.text
    desk.close()
    phone.close()
