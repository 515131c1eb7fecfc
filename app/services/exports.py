"""Exports: everything of a client's, for the client; shared records only, for the therapist.

The client's archive is a zip of JSON and CSV that is written while it is sent:
the first bytes leave at once and the browser shows the download growing, so a
large archive (years of entries, voice notes) shows honest progress without a
job table. The therapist's exports read *shared* and *discuss* entries only;
private entries are filtered in the query itself, never afterwards.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from app.core import csv_safe, i18n
from app.core.db import open_session
from app.core.errors import NotFound
from app.core.i18n import _
from app.models import (
    Appointment,
    Assignment,
    AuditEvent,
    BarrierCheckin,
    Client,
    DeviceSession,
    Entry,
    Plan,
    PlanChange,
    RecordTemplate,
    Reminder,
    SessionAgenda,
    TemplateVersion,
    Therapist,
    Visibility,
)
from app.models.types import utcnow
from app.services import audit, scoring, sharing, voice_files, voice_storage, zone_history
from app.services.access_log import access_log
from app.services.adherence.rules import DayClock
from app.services.entry_text import describe, tr

# Entries are read in pages so a long history never sits in memory at once.
_PAGE = 500


@dataclass(frozen=True)
class ClientSummary:
    entries: int
    private_entries: int
    assignments: int
    voice_notes: int
    access_events: int


def client_summary(session: Session, *, client: Client) -> ClientSummary:
    """What the client's download will hold, shown before it starts."""
    live = (Entry.client_id == client.id, col(Entry.deleted_at).is_(None))
    total = session.exec(select(func.count()).select_from(Entry).where(*live)).one()
    private = session.exec(
        select(func.count()).select_from(Entry).where(*live, Entry.visibility == Visibility.private)
    ).one()
    assigned = session.exec(select(func.count()).select_from(Assignment).where(Assignment.client_id == client.id)).one()
    reads = session.exec(select(func.count()).select_from(AuditEvent).where(AuditEvent.client_id == client.id)).one()
    return ClientSummary(
        entries=int(total),
        private_entries=int(private),
        assignments=int(assigned),
        voice_notes=voice_files.count_for_client(session, client_id=client.id),
        access_events=int(reads),
    )


def archive_name(*, prefix: str, extension: str = "zip", today: date | None = None) -> str:
    # No names in the client's own file names: their downloads folder may be synced or shared.
    return f"{prefix}-{(today or utcnow().date()).isoformat()}.{extension}"


# Latin letters that Unicode does not split into a base letter and a mark.
_UNDECOMPOSED = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "đ": "d", "ł": "l", "þ": "th", "ð": "d", "ı": "i"})


def file_slug(name: str, *, limit: int = 40) -> str:
    """A name as a safe piece of a file name: ASCII letters, digits and hyphens, never empty.

    "José María" gives "jose-maria"; a name with no Latin letter at all gives "client".
    """
    decomposed = unicodedata.normalize("NFKD", name.casefold().translate(_UNDECOMPOSED))
    ascii_only = "".join(char for char in decomposed if char.isascii() and not unicodedata.combining(char))
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")[:limit].strip("-")
    return slug or "client"


def therapist_file_name(*, client: Client, what: str, extension: str, now: datetime | None = None) -> str:
    """A therapist's export of one client: filed by the therapist, so it carries the client's
    alias (as `file_slug`) and the client's local date, e.g.
    `between-jose-maria-shared-records-2026-03-01.csv`."""
    today = (now or utcnow()).astimezone(ZoneInfo(client.timezone)).date()
    return f"between-{file_slug(client.display_name)}-{what}-{today.isoformat()}.{extension}"


# ---------------------------------------------------------------------------
# The client's own archive


class _Pipe(io.RawIOBase):
    """A write-only stream zipfile writes into; what it wrote is taken out in chunks.

    It cannot seek, so zipfile writes data descriptors after each member instead
    of going back to patch headers: the archive can be sent as it is made.
    """

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        return len(chunk)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def stream_client_archive(*, engine: Engine, client_id: uuid.UUID, locale: str) -> Iterator[bytes]:
    """Yield a zip of everything of the client's: profile, assignments, all entries
    (private ones included: they are the client's own), devices, reminders, sessions,
    the log of who read their records, and voice notes when there are any.

    It opens its own database session: it runs after the request's session is gone.
    """
    pipe = _Pipe()
    with open_session(engine) as session, zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        client = session.get(Client, client_id)
        if client is None:
            return
        parts: list[tuple[str, Callable[[], Iterable[tuple[str, bytes | Path]]]]] = [
            ("readme", lambda: [("README.txt", _readme(locale).encode())]),
            ("profile", lambda: _profile_files(session, client)),
            ("assignments", lambda: _assignment_files(session, client)),
            ("devices", lambda: _device_files(session, client)),
            ("reminders", lambda: _reminder_files(session, client)),
            ("sessions", lambda: _session_files(session, client)),
            ("barriers", lambda: _barrier_files(session, client)),
            ("plans", lambda: _plan_files(session, client)),
            ("agendas", lambda: _agenda_files(session, client)),
            ("access", lambda: _access_files(session, client, locale)),
        ]
        for _name, build in parts:
            with i18n.using_locale(locale):
                files = list(build())
            for name, content in files:
                _add(archive, name, content)
            yield pipe.take()
        # Entries go out page by page, so the download grows while they are read. Two
        # passes (one per file) because a zip is written one member at a time.
        with archive.open("entries.jsonl", mode="w") as jsonl:
            for records in _entry_record_pages(session, client.id, locale):
                for record in records:
                    jsonl.write((json.dumps(record, ensure_ascii=False, default=_json_default) + "\n").encode())
                yield pipe.take()
        with archive.open("entries.csv", mode="w") as raw_csv:
            text_csv = io.TextIOWrapper(raw_csv, encoding="utf-8", newline="")
            writer = csv_safe.writer(text_csv)
            writer.writerow(ENTRY_CSV_HEADER)
            for records in _entry_record_pages(session, client.id, locale):
                for record in records:
                    writer.writerows(_csv_rows(record))
                text_csv.flush()
                yield pipe.take()
            text_csv.flush()
            text_csv.detach()
        storage = voice_storage.current()
        for voice in voice_files.for_client(session, client_id=client.id):
            piece = storage.read(session, note_id=voice.note.id, length=voice_storage.CHUNK)
            if not piece:
                continue  # a note whose audio was lost before notes were kept in the database
            # Audio is already compressed: stored as it is, read and written piece by piece.
            member = zipfile.ZipInfo(f"voice_notes/{voice.name}", date_time=voice.note.created_at.timetuple()[:6])
            member.compress_type = zipfile.ZIP_STORED
            member.file_size = voice.note.bytes
            with archive.open(member, mode="w") as out:
                position = 0
                while piece:
                    out.write(piece)
                    position += len(piece)
                    yield pipe.take()
                    if position >= voice.note.bytes:
                        break
                    piece = storage.read(session, note_id=voice.note.id, start=position, length=voice_storage.CHUNK)
    yield pipe.take()


def _entry_record_pages(session: Session, client_id: uuid.UUID, locale: str) -> Iterator[list[dict[str, Any]]]:
    for page in _entry_pages(session, client_id=client_id, shared_only=False):
        with i18n.using_locale(locale):
            records = _entry_records(session, page)
        yield records


def _add(archive: zipfile.ZipFile, name: str, content: bytes | Path) -> None:
    if isinstance(content, Path):
        archive.write(content, name)
    else:
        archive.writestr(name, content)


def _readme(locale: str) -> str:
    with i18n.using_locale(locale):
        lines = [
            _(
                "Everything Between keeps about you, downloaded on %(date)s.",
                date=utcnow().strftime("%Y-%m-%d %H:%M UTC"),
            ),
            "",
            _("profile.json: your name or alias, time zone and settings."),
            _("assignments.json and assignments.csv: the records you were asked to keep."),
            _("entries.jsonl and entries.csv: every entry you wrote, private ones included, with all answers."),
            _("devices.json and devices.csv: the phones and browsers signed in to your account."),
            _("reminders.json: your reminder times."),
            _("sessions.json: the session dates your therapist entered (not their notes)."),
            _("plans.json: the plans you made with your therapist, with every change and who made it."),
            _("session_agendas.json: what you picked to bring to each session, and your notes for it."),
            _("access_log.json and access_log.csv: when your therapist read or downloaded your shared records."),
            _("voice_notes/: your voice notes, if you recorded any."),
            "",
            _("Times are in UTC. The CSV files open in any spreadsheet."),
        ]
    return "\n".join(lines) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not serialisable: {type(value).__name__}")


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_json_default).encode()


def _csv(header: list[str], rows: Iterable[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv_safe.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_json_default(value) if isinstance(value, datetime | uuid.UUID) else value for value in row])
    return buffer.getvalue().encode()


def _dump(model: SQLModel, *, exclude: set[str] | None = None) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude=exclude or set())


def _profile_files(session: Session, client: Client) -> list[tuple[str, bytes | Path]]:
    profile = _dump(client, exclude={"pin_hash", "therapist_id"})
    profile["app_pin_set"] = client.pin_hash is not None
    therapist = session.get(Therapist, client.therapist_id) if client.therapist_id else None
    profile["therapist"] = {"name": therapist.display_name} if therapist else None
    return [("profile.json", _json(profile))]


def _assignment_files(session: Session, client: Client) -> list[tuple[str, bytes | Path]]:
    rows = list(
        session.exec(select(Assignment).where(Assignment.client_id == client.id).order_by(col(Assignment.created_at)))
    )
    titles = _template_titles(session, {row.template_id for row in rows})
    records = [{**_dump(row, exclude={"therapist_id"}), "record": titles.get(row.template_id, "")} for row in rows]
    header = ["id", "record", "frequency", "times_per_day", "weekdays", "instructions", "created_at", "ended_at"]
    table = [
        [
            r["id"],
            r["record"],
            r["frequency"],
            r["times_per_day"],
            " ".join(map(str, r["weekdays"])),
            r["instructions"],
            r["created_at"],
            r["ended_at"],
        ]
        for r in records
    ]
    return [("assignments.json", _json(records)), ("assignments.csv", _csv(header, table))]


def _template_titles(session: Session, template_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    titles = {}
    for template_id in template_ids:
        template = session.get(RecordTemplate, template_id)
        if template is None:
            continue
        version = session.exec(
            select(TemplateVersion).where(
                TemplateVersion.template_id == template.id, TemplateVersion.number == template.current_version
            )
        ).first()
        if version is not None:
            titles[template_id] = tr(version.title, library=template.is_library)
    return titles


def _device_files(session: Session, client: Client) -> list[tuple[str, bytes | Path]]:
    rows = list(
        session.exec(
            select(DeviceSession).where(DeviceSession.client_id == client.id).order_by(col(DeviceSession.created_at))
        )
    )
    # The token hash is a credential, not information about the person: never exported.
    records = [_dump(row, exclude={"token_hash", "therapist_id", "client_id"}) for row in rows]
    header = ["id", "label", "created_at", "last_seen_at", "expires_at", "revoked_at"]
    return [
        ("devices.json", _json(records)),
        ("devices.csv", _csv(header, [[r.get(key) for key in header] for r in records])),
    ]


def _reminder_files(session: Session, client: Client) -> list[tuple[str, bytes | Path]]:
    rows = list(session.exec(select(Reminder).where(Reminder.client_id == client.id)))
    return [("reminders.json", _json([_dump(row, exclude={"client_id"}) for row in rows]))]


def _session_files(session: Session, client: Client) -> list[tuple[str, bytes | Path]]:
    rows = list(
        session.exec(select(Appointment).where(Appointment.client_id == client.id).order_by(col(Appointment.starts_at)))
    )
    # The therapist's notes are the therapist's own working notes, not the client's data.
    keep = ["id", "starts_at", "timezone", "duration_minutes", "repeat", "cancelled_at"]
    return [("sessions.json", _json([{key: getattr(row, key) for key in keep} for row in rows]))]


def _barrier_files(session: Session, client: Client) -> list[tuple[str, bytes | Path]]:
    """What got in the way ("Not today, because…"), private check-ins included: they are the client's own."""
    rows = list(
        session.exec(
            select(BarrierCheckin)
            .where(BarrierCheckin.client_id == client.id)
            .order_by(col(BarrierCheckin.day), col(BarrierCheckin.created_at))
        )
    )
    exclude = {"client_id", "content_hash", "device_id"}
    # A check-in's voice note is in voice_notes/ with the others; its row names the file.
    spoken = {voice.note.barrier_checkin_id: voice for voice in voice_files.for_client(session, client_id=client.id)}
    dumped = []
    for row in rows:
        item = _dump(row, exclude=exclude)
        voice = spoken.get(row.id)
        item["voice_note_id"] = str(voice.note.id) if voice else None
        item["voice_note_file"] = f"voice_notes/{voice.name}" if voice else None
        dumped.append(item)
    return [("barrier_checkins.json", _json(dumped))]


def _plan_files(session: Session, client: Client) -> list[tuple[str, bytes | Path]]:
    """The plans made together, each with every change to it (who changed what, and when)."""
    rows = list(session.exec(select(Plan).where(Plan.client_id == client.id).order_by(col(Plan.created_at))))
    changes: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for change in session.exec(
        select(PlanChange).where(PlanChange.client_id == client.id).order_by(col(PlanChange.version))
    ):
        changes.setdefault(change.plan_id, []).append(_dump(change, exclude={"client_id", "plan_id", "id"}))
    plans = [{**_dump(row, exclude={"client_id"}), "history": changes.get(row.id, [])} for row in rows]
    return [("plans.json", _json(plans))]


def _agenda_files(session: Session, client: Client) -> list[tuple[str, bytes | Path]]:
    """What the client picked to bring to each session and their note, private notes included."""
    rows = list(
        session.exec(
            select(SessionAgenda).where(SessionAgenda.client_id == client.id).order_by(col(SessionAgenda.created_at))
        )
    )
    return [("session_agendas.json", _json([_dump(row, exclude={"client_id", "id"}) for row in rows]))]


def _access_files(session: Session, client: Client, locale: str) -> list[tuple[str, bytes | Path]]:
    rows = access_log(session, client_id=client.id)
    records = [{"at": row.at, "who": row.who, "what": row.what} for row in rows]
    return [
        ("access_log.json", _json(records)),
        ("access_log.csv", _csv(["at", "who", "what"], [[r["at"], r["who"], r["what"]] for r in records])),
    ]


# ---------------------------------------------------------------------------
# Entries, shared by both kinds of export


ENTRY_CSV_HEADER = [
    "entry_id",
    "record",
    "form_version",
    "occurred_at",
    "logged_at",
    "visibility",
    "nothing_to_report",
    "score",
    "question_key",
    "question",
    "answer",
    "raw_answer",
]


def _entry_pages(session: Session, *, client_id: uuid.UUID, shared_only: bool) -> Iterator[list[Entry]]:
    """Entries oldest first, in pages (keyset on occurred_at, id: stable under concurrent writes)."""
    last: tuple[datetime, uuid.UUID] | None = None
    while True:
        statement = select(Entry).where(Entry.client_id == client_id, col(Entry.deleted_at).is_(None))
        if shared_only:
            statement = statement.where(sharing.shared())
        if last is not None:
            statement = statement.where(
                (col(Entry.occurred_at) > last[0]) | ((col(Entry.occurred_at) == last[0]) & (col(Entry.id) > last[1]))
            )
        page = list(session.exec(statement.order_by(col(Entry.occurred_at), col(Entry.id)).limit(_PAGE)))
        if not page:
            return
        yield page
        last = (page[-1].occurred_at, page[-1].id)


@dataclass
class _VersionInfo:
    version: TemplateVersion
    library: bool
    title: str


def _versions(
    session: Session, entries: list[Entry], cache: dict[uuid.UUID, _VersionInfo] | None = None
) -> dict[uuid.UUID, _VersionInfo]:
    cache = {} if cache is None else cache
    for entry in entries:
        if entry.template_version_id in cache:
            continue
        version = session.get(TemplateVersion, entry.template_version_id)
        assert version is not None
        template = session.get(RecordTemplate, version.template_id)
        library = bool(template and template.is_library)
        cache[version.id] = _VersionInfo(version=version, library=library, title=tr(version.title, library=library))
    return cache


def _entry_records(session: Session, entries: list[Entry]) -> list[dict[str, Any]]:
    from app.services.record_types import fields_of

    infos = _versions(session, entries)
    records = []
    for entry in entries:
        info = infos[entry.template_version_id]
        fields = fields_of(info.version)
        labelled = describe(fields, entry.answers, library=info.library)
        by_key = {f.key: view for f, view in zip([f for f in fields if f.key in entry.answers], labelled, strict=True)}
        records.append(
            {
                "id": entry.id,
                "record": info.title,
                "form_version": info.version.number,
                "occurred_at": entry.occurred_at,
                "logged_at": entry.logged_at,
                "updated_at": entry.updated_at,
                "visibility": str(entry.visibility),
                "nothing_to_report": entry.nothing_to_report,
                "score": entry.score,
                "answers": [
                    {"key": key, "question": by_key[key].label, "answer": by_key[key].value, "raw": entry.answers[key]}
                    for key in by_key
                ],
            }
        )
    return records


# The therapist's CSV tells times on the client's clock: local date and time, and the zone.
THERAPIST_CSV_HEADER = [*ENTRY_CSV_HEADER[:5], "time_zone", *ENTRY_CSV_HEADER[5:]]


def _local(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _csv_rows(record: dict[str, Any], *, clock: DayClock | None = None) -> list[list[Any]]:
    """One row per answer (a long table: every record type fits the same columns).

    With the client's `clock` (the therapist's CSV), times are local to the zone the client
    lived in when the entry happened, and that zone follows them; without it, UTC (ISO 8601).
    """
    if clock is None:
        times = [_json_default(record["occurred_at"]), _json_default(record["logged_at"])]
    else:
        zone = clock.zone_at(record["occurred_at"])
        times = [_local(record["occurred_at"], zone), _local(record["logged_at"], zone), zone]
    base = [
        str(record["id"]),
        record["record"],
        record["form_version"],
        *times,
        record["visibility"],
        "yes" if record["nothing_to_report"] else "no",
        "" if record["score"] is None else record["score"],
    ]
    if not record["answers"]:
        return [[*base, "", "", "", ""]]
    return [
        [
            *base,
            answer["key"],
            answer["question"],
            answer["answer"],
            _raw_cell(answer["raw"]),
        ]
        for answer in record["answers"]
    ]


def _raw_cell(raw: Any) -> Any:
    # Text and numbers as they are (csv_safe keeps numbers numeric and neutralizes text);
    # lists, objects and yes/no as JSON.
    if isinstance(raw, str) or (isinstance(raw, int | float) and not isinstance(raw, bool)):
        return raw
    return json.dumps(raw, ensure_ascii=False)


# ---------------------------------------------------------------------------
# The therapist's exports: shared records only


def _own_client(session: Session, *, therapist: Therapist, client_id: uuid.UUID) -> Client:
    client = session.get(Client, client_id)
    if client is None or client.therapist_id != therapist.id:
        raise NotFound(_("No such client."))
    return client


def shared_entries(session: Session, *, therapist: Therapist, client: Client) -> list[Entry]:
    """Every shared and discuss-in-session entry, oldest first. Never a private one."""
    _own_client(session, therapist=therapist, client_id=client.id)
    rows: list[Entry] = []
    for page in _entry_pages(session, client_id=client.id, shared_only=True):
        rows.extend(page)
    return rows


def therapist_csv(session: Session, *, therapist: Therapist, client: Client) -> str:
    """Shared entries, one row per answer, times on the client's clock (`time_zone` says which)."""
    buffer = io.StringIO()
    writer = csv_safe.writer(buffer)
    writer.writerow(THERAPIST_CSV_HEADER)
    rows = shared_entries(session, therapist=therapist, client=client)
    audit.record(session, actor_kind="therapist", actor_id=therapist.id, action="export.csv", client_id=client.id)
    clock = DayClock(zone_history.history(session, client=client))
    for record in _entry_records(session, rows):
        writer.writerows(_csv_rows(record, clock=clock))
    return buffer.getvalue()


@dataclass
class ReportSection:
    title: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    max_score: int | None = None
    scored: bool = False


@dataclass(frozen=True)
class Report:
    client: Client
    therapist: Therapist
    generated_at: datetime
    first: datetime | None
    last: datetime | None
    count: int
    sections: list[ReportSection]
    # Times are on the client's clock: each entry's `occurred_local` is in the zone the client
    # lived in then (its `zone`); the report's own dates are in their current zone.
    timezone: str = "UTC"

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(ZoneInfo(self.timezone))


def report(session: Session, *, therapist: Therapist, client: Client) -> Report:
    """The printable report: shared entries grouped by record type, scores with their bands."""
    rows = shared_entries(session, therapist=therapist, client=client)
    audit.record(session, actor_kind="therapist", actor_id=therapist.id, action="export.report", client_id=client.id)
    infos = _versions(session, rows)
    clock = DayClock(zone_history.history(session, client=client))
    sections: dict[uuid.UUID, ReportSection] = {}
    for record, entry in zip(_entry_records(session, rows), rows, strict=True):
        zone = clock.zone_at(entry.occurred_at)
        record["zone"] = zone
        record["occurred_local"] = entry.occurred_at.astimezone(ZoneInfo(zone))
        info = infos[entry.template_version_id]
        section = sections.setdefault(
            info.version.template_id,
            ReportSection(
                title=info.title,
                max_score=scoring.max_score(info.version.scoring),
                scored=info.version.scoring is not None,
            ),
        )
        band = scoring.severity(info.version.scoring, entry.score)
        record["band"] = _(band) if band else None
        section.entries.append(record)
    return Report(
        client=client,
        therapist=therapist,
        generated_at=utcnow(),
        first=rows[0].occurred_at if rows else None,
        last=rows[-1].occurred_at if rows else None,
        count=len(rows),
        sections=sorted(sections.values(), key=lambda s: s.title.casefold()),
        timezone=client.timezone,
    )
