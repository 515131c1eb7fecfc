"""People and records for browser tests, made through the factories on the live server's database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.models import Assignment, Client, Therapist
from tests.browser.live import LiveServer
from tests.factories import library_template, make_assignment, make_client, make_template, make_therapist

VOICE_FIELDS: list[dict[str, Any]] = [
    {"key": "feeling", "type": "scale", "label": "How strong is it?", "min": 0, "max": 10},
    {"key": "voice", "type": "voice", "label": "Say what happened", "required": True, "max_seconds": 60},
]


@dataclass
class Person:
    therapist: Therapist
    client: Client
    assignments: dict[str, Assignment] = field(default_factory=dict)

    def record_path(self, slug: str) -> str:
        return f"/c/record/{self.assignments[slug].id}"


def client_with_records(server: LiveServer, *slugs: str, voice_form: bool = False) -> Person:
    """A therapist and their client, with library records (by slug) and optionally a voice form."""
    with server.session() as session:
        therapist = make_therapist(session)
        client = make_client(session, therapist=therapist)
        person = Person(therapist, client)
        for slug in slugs:
            person.assignments[slug] = make_assignment(session, client=client, template=library_template(session, slug))
        if voice_form:
            template = make_template(session, therapist=therapist, title="Voice diary", fields=VOICE_FIELDS)
            person.assignments["voice"] = make_assignment(session, client=client, template=template)
    return person
