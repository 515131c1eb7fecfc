"""Accessibility checks for browser tests: a demo world, every page of the app, axe-core.

The pages are enumerated from the application's routes (every GET route), so a page
added tomorrow is checked tomorrow; a path parameter nobody here knows fails loudly
until it is mapped to an object of the demo world.
"""

from __future__ import annotations

import io
import re
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from sqlmodel import select

from app.core.security import hash_password
from app.library import BY_SLUG
from app.models import Assignment, Client, Entry, Plan, PlanState, RecordTemplate, Therapist, TherapistCreate
from app.services import demo, invites, signups, voice_notes
from tests.browser.live import LiveServer
from tests.browser.people import VOICE_FIELDS
from tests.factories import library_template, make_assignment, make_entry, make_plan, make_template

AXE_SOURCE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA: what the product promises (PRODUCT.md §3.10).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

ANONYMOUS, CLIENT, PIN_CLIENT, THERAPIST = "anonymous", "client", "pin client", "therapist"

# Pages that need someone in a particular state to be reached at all.
VISITOR_OF = {"/c/unlock": PIN_CLIENT}

# Routes that never render a page for a person, whatever their response says.
NOT_PAGES = {
    # A fragment that the reminders page includes (and push.js swaps in): checked as part of that page.
    "/c/reminders/health",
    # What a plan's screen asks every two seconds while it is made: fields swapped into that page.
    "/t/plans/{plan_id}/sync",
    "/c/plans/{plan_id}/sync",
}


@dataclass
class Page:
    route: str  # the route's path, as declared
    url: str  # the path with the demo world's ids filled in
    visitor: str

    def __str__(self) -> str:
        return self.url if self.url == self.route else f"{self.route} ({self.url})"


@dataclass
class World:
    therapist: Therapist
    client: Client
    pin_client: Client
    ids: dict[str, str] = field(default_factory=dict)
    # Further values worth a page of their own: every kind of record form, not just one.
    more_ids: dict[str, list[str]] = field(default_factory=dict)
    # Values for one route only, where a name means something else there (a sign-up
    # confirmation's token is not an invitation's).
    route_ids: dict[str, dict[str, str]] = field(default_factory=dict)

    def person(self, visitor: str) -> Therapist | Client | None:
        return {ANONYMOUS: None, CLIENT: self.client, PIN_CLIENT: self.pin_client, THERAPIST: self.therapist}[visitor]


def _silence_wav(seconds: float = 1.0) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * int(8000 * seconds))
    return buffer.getvalue()


def demo_world(server: LiveServer) -> World:
    """The demo (six weeks of mood logs, thought records and PHQ-9s, sessions, a risk flag),
    plus what the demo lacks: a therapist's own form, a voice note, an open invitation and a PIN."""
    with server.session() as session:
        demo.seed(session, base_url=server.url)
        session.commit()
        therapist = session.exec(select(Therapist).where(Therapist.email == demo.DEMO_EMAIL)).one()
        mine = session.exec(select(Client).where(Client.therapist_id == therapist.id))
        by_name = {client.display_name: client for client in mine}
        alex, jo = by_name["Alex"], by_name["Jo"]
        # Every library record on top of the demo's, so that every kind of field is on a page.
        for slug in sorted(set(BY_SLUG) - {slug for _id, slug in _assignments(session, alex)}):
            make_assignment(session, client=alex, template=library_template(session, slug))
        own = make_template(session, therapist=therapist, title="Evening voice diary", fields=VOICE_FIELDS)
        voice_assignment = make_assignment(session, client=alex, template=own)
        settings = server.settings
        stored = voice_notes.store(
            session,
            client=alex,
            data=_silence_wav(),
            max_bytes=settings.voice_max_bytes,
            max_seconds=settings.voice_max_seconds,
        )
        session.commit()
        make_entry(
            session, client=alex, assignment=voice_assignment, answers={"feeling": 4, "voice": str(stored.note.id)}
        )
        slugs = {slug: assignment_id for assignment_id, slug in _assignments(session, alex)}
        entry = session.exec(
            select(Entry)
            .where(Entry.assignment_id == uuid.UUID(slugs["thought_record"]))
            .order_by(Entry.occurred_at.desc())  # type: ignore[attr-defined]
        ).first()
        assert entry is not None, "the demo should give Alex thought records"
        issued = invites.issue(session, therapist=therapist, client=alex, hours=24)
        signup = signups.request_account(
            session,
            data=TherapistCreate(email="waiting@example.org", display_name="Dr. Waiting", password="correct horse 12"),
            locale=None,
            hours=24,
            may_email=True,
        )
        assert signup is not None and signup.token
        # Alex's plan made together (the demo's, confirmed) and one being made in session.
        agreed = session.exec(select(Plan).where(Plan.client_id == alex.id, Plan.state == PlanState.confirmed)).one()
        thoughts = session.get(Assignment, uuid.UUID(slugs["thought_record"]))
        draft = make_plan(session, client=alex, assignment=thoughts, times=["19:00"], why="To catch the thought early")
        # Jo has an app PIN: a new device session starts locked, so the unlock page shows.
        jo.pin_hash = hash_password("2468")
        session.add(jo)
        session.commit()
        ids = {
            "client_id": str(alex.id),
            "assignment_id": slugs["mood_log"],
            "entry_id": str(entry.id),
            "template_id": str(own.id),
            "token": issued.token,
            "note_id": str(stored.note.id),
            "plan_id": str(agreed.id),
        }
        others = [
            assignment_id
            for assignment_id, _slug in _assignments(session, alex)
            if assignment_id != ids["assignment_id"]
        ]
        return World(
            therapist=therapist,
            client=alex,
            pin_client=jo,
            ids=ids,
            more_ids={"assignment_id": others, "plan_id": [str(draft.id)]},
            route_ids={"/signup/verify/{token}": {"token": signup.token}},
        )


def _assignments(session: Any, client: Client) -> list[tuple[str, str]]:
    rows = session.exec(
        select(Assignment.id, RecordTemplate.slug)
        .join(RecordTemplate, RecordTemplate.id == Assignment.template_id)  # type: ignore[arg-type]
        .where(Assignment.client_id == client.id)
    ).all()
    return [(str(assignment_id), slug) for assignment_id, slug in rows]


def assignment_for(server: LiveServer, client: Client, slug: str) -> str:
    with server.session() as session:
        return next(a for a, s in _assignments(session, client) if s == slug)


def visitor_for(path: str) -> str:
    if path in VISITOR_OF:
        return VISITOR_OF[path]
    if path == "/c" or path.startswith("/c/"):
        return CLIENT
    if path == "/t" or path.startswith("/t/"):
        return THERAPIST
    return ANONYMOUS


def get_routes(app: Any) -> list[str]:
    routes = sorted(
        {
            str(context.path)
            for context in iter_route_contexts(app.routes)
            if isinstance(context.route, APIRoute) and "GET" in (context.methods or set())
        }
    )
    # A broken enumeration must not pass quietly.
    assert len(routes) > 30, routes
    return routes


def fill(path: str, ids: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        if name not in ids:
            raise AssertionError(f"path parameter {{{name}}} in {path} is unknown to the accessibility test: map it")
        return ids[name]

    return re.sub(r"\{([^}]+)\}", value, path)


def candidate_pages(app: Any, world: World) -> list[Page]:
    """Every GET route that could be a page; whether it is one is decided by its response."""
    pages = []
    for route in get_routes(app):
        if route in NOT_PAGES:
            continue
        pages.append(Page(route, fill(route, {**world.ids, **world.route_ids.get(route, {})}), visitor_for(route)))
        params = re.findall(r"\{(\w+)", route)
        if len(params) == 1 and params[0] in world.more_ids:
            for value in world.more_ids[params[0]]:
                pages.append(Page(route, fill(route, {**world.ids, params[0]: value}), visitor_for(route)))
    return pages


def is_html_page(response: Any) -> bool:
    """A whole HTML document shown in the browser: not JSON, scripts, manifests, downloads or fragments."""
    content_type = response.headers.get("content-type", "")
    disposition = response.headers.get("content-disposition", "")
    if not content_type.startswith("text/html") or disposition.startswith("attachment"):
        return False
    return "<html" in response.text()[:500].lower()


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.x A/AA violations on the page as it is now."""
    # axe-core measures a sticky element where it is painted now (dequelabs/axe-core#3720), so
    # the pinned Save row would count as covering whatever scrolls beneath it. At the end of
    # the page every sticky element rests in its own place. (Focus never hiding under that
    # row is checked by the keyboard test.)
    page.evaluate("window.scrollTo(0, document.scrollingElement.scrollHeight)")
    if not page.evaluate("typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, which the page's CSP does not govern.
        page.evaluate(AXE_SOURCE.read_text())
    result = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
             .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))})))""",
        WCAG_TAGS,
    )
    return result  # type: ignore[no-any-return]


def describe(where: str, violations: list[dict[str, Any]]) -> list[str]:
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            summary = " ".join(str(node["summary"] or "").split())
            lines.append(f"{where}: {violation['id']} at {node['target']} ({summary})")
    return lines
