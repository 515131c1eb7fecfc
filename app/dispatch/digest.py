"""The therapist's opt-in email before each session: the brief in short, with a link.

A pass of the dispatcher tick (see `Dispatcher.tick`). Due sessions are claimed
with `FOR UPDATE SKIP LOCKED` (on SQLite only one dispatcher runs) and marked
through `Appointment.digest_sent_at` in the claiming transaction, so two
dispatchers never mail the same session twice. A send that fails clears the mark
again: a later pass retries, until the session starts (after that a brief by
email is of no use).

The email holds counts only: completion since the last session per record type,
streaks, whether a risk flag is raised and how many items are on the agenda. No
answers, no notes, nothing of private entries (they count as done, as they do in
the brief); the rest is on the brief page behind the link.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import and_, or_, true, update
from sqlmodel import Session, col, select

from app.core import i18n
from app.core.db import open_session
from app.core.email import Mail
from app.core.i18n import _, ngettext
from app.models import Appointment, Client, Therapist
from app.services import audit, brief

if TYPE_CHECKING:
    from app.dispatch.dispatcher import Dispatcher

log = logging.getLogger("between.dispatch.digest")
# Emails are rendered with plain Jinja: every word arrives translated in the context, so the
# page environment (its globals and the request's locale) is not needed here.
_EMAILS = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates" / "emails"),
    autoescape=select_autoescape(["html"]),
)

# Sessions claimed per pass; more are picked up by the next pass.
BATCH = 50
# Emails sent at once (SMTP servers throttle parallel connections).
CONCURRENCY = 4
AUDIT_ACTION = "digest.sent"


@dataclass(frozen=True)
class ClaimedDigest:
    appointment_id: uuid.UUID
    therapist_id: uuid.UUID
    client_id: uuid.UUID
    marked_at: datetime


@dataclass(frozen=True)
class Outgoing:
    claimed: ClaimedDigest
    mail: Mail


@dataclass
class DigestStats:
    sent: int = 0
    failed: int = 0


def claim(session: Session, *, now: datetime, limit: int = BATCH) -> list[ClaimedDigest]:
    """Mark and return the sessions whose digest is due now (the caller commits).

    Due: the therapist opted in, the session is neither cancelled nor started,
    starts within the therapist's chosen hours, and the client is still theirs.
    """
    hours = sorted(
        set(
            session.exec(
                select(Therapist.digest_hours_before).where(col(Therapist.digest_enabled) == true()).distinct()
            ).all()
        )
    )
    if not hours:
        return []
    # One condition per lead time in use (a handful): portable, and exact in SQL, so the
    # batch never fills up with sessions that are not due yet.
    within = or_(
        *(
            and_(
                col(Therapist.digest_hours_before) == value,
                col(Appointment.starts_at) <= now + timedelta(hours=value),
            )
            for value in hours
        )
    )
    statement = (
        select(Appointment)
        .join(Therapist, col(Therapist.id) == Appointment.therapist_id)
        .join(Client, col(Client.id) == Appointment.client_id)
        .where(
            col(Therapist.digest_enabled) == true(),
            col(Appointment.digest_sent_at).is_(None),
            col(Appointment.cancelled_at).is_(None),
            Appointment.starts_at > now,
            col(Client.therapist_id) == Appointment.therapist_id,
            within,
        )
        .order_by(col(Appointment.starts_at), col(Appointment.id))
        .limit(limit)
        .with_for_update(of=Appointment, skip_locked=True)  # type: ignore[arg-type]
    )
    rows = list(session.exec(statement))
    for row in rows:
        row.digest_sent_at = now
        session.add(row)
    session.flush()
    return [ClaimedDigest(row.id, row.therapist_id, row.client_id, now) for row in rows]


def release(session: Session, *, claimed: ClaimedDigest) -> None:
    """Undo a claim whose email did not go out, so that a later pass tries again."""
    table = Appointment.__table__  # type: ignore[attr-defined]
    session.execute(
        update(table)
        .where(table.c.id == claimed.appointment_id, table.c.digest_sent_at == claimed.marked_at)
        .values(digest_sent_at=None)
    )


def _when(instant: datetime, zone: str) -> str:
    return format_datetime(instant.astimezone(ZoneInfo(zone)), "EEE d MMM, HH:mm", locale=i18n.get_locale())


@dataclass(frozen=True)
class RecordLine:
    title: str
    done: int | None
    expected: int | None
    current_streak: int
    best_streak: int
    happened: int | None = None  # entries since the last session, for a record kept as it happens

    @property
    def completion(self) -> str:
        if self.happened is not None:
            return ngettext("%(num)s entry", "%(num)s entries", self.happened)
        if self.expected:
            return _("%(done)s of %(expected)s", done=self.done, expected=self.expected)
        return _("nothing due yet")


def compose(session: Session, *, claimed: ClaimedDigest, base_url: str, default_locale: str, now: datetime) -> Mail:
    """The email for one session, in the therapist's language (plain text and simple HTML)."""
    therapist = session.get(Therapist, claimed.therapist_id)
    if therapist is None:
        raise LookupError("therapist gone")
    with i18n.using_locale(therapist.locale or default_locale):
        data = brief.build(
            session, therapist=therapist, client_id=claimed.client_id, appointment_id=claimed.appointment_id, now=now
        )
        appointment = data.appointment
        assert appointment is not None
        zone = appointment.timezone
        records = [
            RecordLine(
                title=record.title,
                done=record.adherence.since.done if record.adherence.since else None,
                expected=record.adherence.since.expected if record.adherence.since else None,
                current_streak=record.adherence.current_streak,
                best_streak=record.adherence.longest_streak,
                happened=record.adherence.happened_since.entries
                if record.adherence.as_it_happens and record.adherence.happened_since is not None
                else None,
            )
            for record in data.records
        ]
        root = base_url.rstrip("/")
        context: dict[str, Any] = {
            "greeting": _("Hello %(name)s,", name=therapist.display_name),
            "session_line": _(
                "Your session with %(client)s is on %(when)s (%(zone)s).",
                client=data.client.display_name,
                when=_when(appointment.starts_at, zone),
                zone=zone,
            ),
            "since_line": (
                _("Since the last session on %(when)s:", when=_when(data.previous.starts_at, data.previous.timezone))
                if data.previous is not None
                else _("No earlier session: showing the last two weeks.")
            ),
            "records": records,
            "no_records": _("No records assigned in this period."),
            "streak_label": _("Current streak"),
            "best_label": _("Best streak"),
            "as_it_happens_label": _("when it happens"),
            "risk_line": _("An answer was flagged for your attention: please see the brief.") if data.has_risk else "",
            "agenda_line": ngettext(
                "%(num)s entry marked to discuss in session.",
                "%(num)s entries marked to discuss in session.",
                len(data.agenda),
            ),
            "link_label": _("The full brief"),
            "link": f"{root}/t/clients/{claimed.client_id}/brief?session={claimed.appointment_id}",
            "footer": _("You get this email because you turned it on in your settings:"),
            "settings_link": f"{root}/t/settings",
            "subject": _("Brief before your session on %(when)s", when=_when(appointment.starts_at, zone)),
            "locale": i18n.get_locale(),
        }
        html = _EMAILS.get_template("digest.html").render(context)
    return Mail(to=therapist.email, subject=context["subject"], text=_text(context), html=html)


def _text(context: dict[str, Any]) -> str:
    lines = [context["greeting"], "", context["session_line"], "", context["since_line"]]
    records: list[RecordLine] = context["records"]
    for record in records:
        if record.happened is not None:
            lines.append(f"- {record.title}: {record.completion} · {context['as_it_happens_label']}")
            continue
        lines.append(
            f"- {record.title}: {record.completion} · {context['streak_label']} {record.current_streak}"
            f" · {context['best_label']} {record.best_streak}"
        )
    if not records:
        lines.append(f"- {context['no_records']}")
    lines.append("")
    if context["risk_line"]:
        lines += [context["risk_line"], ""]
    lines += [context["agenda_line"], "", f"{context['link_label']}: {context['link']}", "", "-- "]
    lines += [context["footer"], context["settings_link"], ""]
    return "\n".join(lines)


def _claim_round(dispatcher: Dispatcher, now: datetime) -> list[Outgoing]:
    settings = dispatcher.settings
    with open_session(dispatcher.engine) as session:
        claimed = claim(session, now=now)
        session.commit()
    out = []
    for item in claimed:
        try:
            with open_session(dispatcher.engine) as session:
                mail = compose(
                    session,
                    claimed=item,
                    base_url=settings.base_url,
                    default_locale=settings.default_locale,
                    now=now,
                )
        except Exception:
            # Ids only: the brief's content never reaches a log.
            log.exception("digest for session %s could not be prepared; a later pass retries", item.appointment_id)
            _release(dispatcher, item)
            continue
        out.append(Outgoing(item, mail))
    return out


def _release(dispatcher: Dispatcher, claimed: ClaimedDigest) -> None:
    with open_session(dispatcher.engine) as session:
        release(session, claimed=claimed)
        session.commit()


def _audit(dispatcher: Dispatcher, sent: list[ClaimedDigest]) -> None:
    # The client can see in their access log that their therapist was sent this summary.
    with open_session(dispatcher.engine) as session:
        for item in sent:
            audit.record(
                session,
                actor_kind="therapist",
                actor_id=item.therapist_id,
                action=AUDIT_ACTION,
                client_id=item.client_id,
                subject_id=item.appointment_id,
            )
        session.commit()


async def run(dispatcher: Dispatcher, *, now: datetime) -> DigestStats:
    """One digest pass: claim what is due, mail it, record it."""
    stats = DigestStats()
    outgoing = await asyncio.to_thread(_claim_round, dispatcher, now)
    if not outgoing:
        return stats
    gate = asyncio.Semaphore(CONCURRENCY)
    sent: list[ClaimedDigest] = []

    async def one(item: Outgoing) -> None:
        async with gate:
            try:
                await dispatcher.mailer.send_async(item.mail)
            except Exception as problem:  # SMTP down, refused, not configured
                log.warning(
                    "digest for session %s not sent (%s); a later pass retries",
                    item.claimed.appointment_id,
                    type(problem).__name__,
                )
                await asyncio.to_thread(_release, dispatcher, item.claimed)
                stats.failed += 1
                return
        sent.append(item.claimed)
        stats.sent += 1

    await asyncio.gather(*(one(item) for item in outgoing))
    if sent:
        await asyncio.to_thread(_audit, dispatcher, sent)
    return stats
