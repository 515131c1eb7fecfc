"""The brief shows what the client wrote (shared entries only, by record type, discuss first,
whole), and the client page shows entries a page at a time, filtered by record type and days."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlmodel import select

from app.core.db import counting_statements
from app.models import AuditEvent, Visibility, VoiceNote
from app.models.types import utcnow
from tests.factories import make_client, make_therapist, signed_in
from tests.routes.insights_helpers import assign_since, daily_entries, entry_at, past_session

SECRET = "only-for-me-5d1c"
THOUGHT = {
    "situation": "Meeting ran late, boss frowned",
    "automatic_thought": "I am going to be fired",
    "emotions": {"anxious": 80, "sad": 40},
    "balanced_thought": "One frown is not a verdict",
    "emotions_after": {"anxious": 35},
}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _world(session):  # type: ignore[no-untyped-def]
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, name="Robin")
    thoughts = assign_since(session, client, days=20, slug="thought_record")
    mood = assign_since(session, client, days=20, slug="mood_log")
    past_session(session, therapist, client, days_ago=6)
    daily_entries(session, client, mood, days=[5, 4, 3], answers={"mood": 6, "note": "steady"})
    daily_entries(session, client, thoughts, days=[4], answers=THOUGHT)
    daily_entries(
        session,
        client,
        thoughts,
        days=[2],
        answers={**THOUGHT, "situation": "Call with my sister"},
        visibility=Visibility.discuss,
    )
    daily_entries(
        session,
        client,
        thoughts,
        days=[1],
        answers={**THOUGHT, "situation": SECRET},
        visibility=Visibility.private,
    )
    daily_entries(session, client, mood, days=[9], answers={"mood": 3, "note": "before the last session"})
    return therapist, client, thoughts, mood


def test_the_brief_reads_whole_thought_records_discuss_first_and_never_private_ones(web, session) -> None:
    therapist, client, _thoughts, _mood = _world(session)
    desk = signed_in(web, session, therapist)
    page = desk.get(f"/t/clients/{client.id}/brief")
    assert page.status_code == 200
    html, text = page.text, _text(page.text)
    assert SECRET not in html  # private: counted as done, never shown
    assert "before the last session" not in text  # only since the last session
    # The agenda comes first, then what the client wrote, then the figures.
    assert (
        text.index("Agenda: marked “discuss in session”")
        < text.index("What Robin wrote")
        < text.index("Records since the last session")
    )
    # Grouped by record type: the group with something to discuss first, its discuss entry first.
    thought_group = text.index("Thought record · 2 entries, 1 to discuss")
    mood_group = text.index("Mood log · 3 entries")
    assert thought_group < mood_group
    # (the discuss entry's first words are also in the agenda, on top)
    discussed = text.index("Call with my sister", thought_group)
    other = text.index("Meeting ran late, boss frowned", thought_group)
    assert thought_group < discussed < other < mood_group
    # A thought record whole on one card: situation, thought, emotions, re-rating.
    card = re.search(
        r'<article class="entry" id="entry-[^"]+">(?:(?!</article>).)*Meeting ran late(?:(?!</article>).)*</article>',
        html,
        re.S,
    )
    assert card is not None
    words = _text(card.group(0))
    for expected in ("I am going to be fired", "Anxious 80", "Sad 40", "One frown is not a verdict", "Anxious 35"):
        assert expected in words
    assert "What “habit strength” means" in text and "one missed day never wipes it out" in text
    # Read once, audited once.
    reads = session.exec(select(AuditEvent).where(AuditEvent.action == "brief.read")).all()
    assert len(reads) == 1


def test_the_brief_in_spanish(web, session) -> None:
    therapist, client, _thoughts, _mood = _world(session)
    desk = signed_in(web, session, therapist)
    desk.cookies.set("between_lang", "es")
    text = _text(desk.get(f"/t/clients/{client.id}/brief").text)
    assert "Lo que escribió Robin" in text and "Registro de pensamientos" in text
    assert "Qué significa «fuerza del hábito»" in text


def test_voice_notes_play_inline_in_the_brief(web, session) -> None:
    therapist, client, thoughts, _mood = _world(session)
    note = VoiceNote(
        id=uuid.uuid4(), client_id=client.id, content_type="audio/webm", bytes=10, seconds=2.0, sha256="0" * 64
    )
    session.add(note)
    session.commit()
    entry_at(
        session,
        client,
        thoughts,
        utcnow() - timedelta(hours=3),
        answers={**THOUGHT, "situation:voice": str(note.id)},
    )
    html = signed_in(web, session, therapist).get(f"/t/clients/{client.id}/brief").text
    assert f'<audio controls preload="none" src="/api/v1/voice-notes/{note.id}"' in html


def test_the_brief_queries_stay_few_however_many_entries_it_shows(web, session, engine) -> None:
    therapist, client, thoughts, mood = _world(session)
    desk = signed_in(web, session, therapist)
    desk.get(f"/t/clients/{client.id}/brief")
    with counting_statements(engine) as few:
        desk.get(f"/t/clients/{client.id}/brief")
    daily_entries(session, client, mood, days=[5, 4, 3, 2, 1], hour=8, visibility=Visibility.discuss)
    daily_entries(session, client, thoughts, days=[5, 3, 1], hour=9, answers=THOUGHT)
    with counting_statements(engine) as many:
        desk.get(f"/t/clients/{client.id}/brief")
    assert len(few) == len(many)


def test_the_client_page_filters_entries_and_shows_them_a_page_at_a_time(web, session) -> None:
    therapist, client, thoughts, mood = _world(session)
    daily_entries(session, client, mood, days=list(range(10, 40)), answers={"mood": 5, "note": "from weeks ago"})
    desk = signed_in(web, session, therapist)
    first = desk.get(f"/t/clients/{client.id}")
    text = _text(first.text)
    # 3 + 1 + 30 mood entries and 2 shared thought records: 36, 25 to a page.
    assert "Entries 1–25 of 36, newest first." in text and "Page 1 of 2" in text
    assert first.text.count('<article class="entry') == 25
    assert SECRET not in first.text
    assert f'href="/t/clients/{client.id}?page=2#entries"' in first.text
    second = desk.get(f"/t/clients/{client.id}?page=2")
    assert "Entries 26–36 of 36" in _text(second.text)
    template_id = thoughts.template_id
    only = desk.get(f"/t/clients/{client.id}?type={template_id}")
    assert "Entries 1–2 of 2" in _text(only.text) and "from weeks ago" not in only.text
    today = utcnow().date()
    five, three = (today - timedelta(days=5)).isoformat(), (today - timedelta(days=3)).isoformat()
    ranged = desk.get(f"/t/clients/{client.id}?from={five}&to={three}")
    assert "Entries 1–4 of 4" in _text(ranged.text)  # three moods and one thought record
    for query, words in [
        ("from=yesterday", "Pick a date."),
        (
            f"from={today.isoformat()}&to={(today - timedelta(days=3)).isoformat()}",
            "The last day comes on or after the first.",
        ),
        ("type=not-a-type", "Choose a record type from the list."),
        ("page=zero", "There is no such page."),
    ]:
        wrong = desk.get(f"/t/clients/{client.id}?{query}")
        assert wrong.status_code == 422 and words in _text(wrong.text), query
        assert 'aria-invalid="true"' in wrong.text or "page" in query
