"""The therapist's JSON API: caseload, adherence, the brief and sessions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.core import i18n
from app.core.errors import Invalid
from app.core.i18n import _
from app.models import AppointmentPublic, InsightsPublic, Repeat
from app.models.therapist_api import (
    AdherencePublic,
    AgendaItem,
    AgreementPublic,
    AppointmentBrief,
    AppointmentCreate,
    AppointmentMove,
    BackfillItem,
    BarriersPublic,
    BriefPublic,
    CaseloadRowPublic,
    CheckinNotePublic,
    ClientAdherencePublic,
    DayPublic,
    FunctionalAnalysisPublic,
    FunctionalCountPublic,
    FunctionalPartPublic,
    NotesUpdate,
    PointPublic,
    RatePublic,
    ReasonCountPublic,
    RiskPublic,
    SeriesPublic,
    TallyPublic,
)
from app.models.types import utcnow
from app.services import appointments, barriers, brief, caseload, clients, functional_analysis, patterns, plans
from app.services.adherence import load as adherence
from app.services.adherence import rules as engine
from app.web.deps import CurrentTherapist, SessionDep, SettingsDep
from app.web.presenters import patterns as pattern_view
from app.web.problems import ERRORS

router = APIRouter(prefix="/api/v1/therapist", tags=["therapist"])


def _rate(rate: engine.Rate) -> RatePublic:
    return RatePublic(done=rate.done, expected=rate.expected, value=rate.value)


def _tally(tally: engine.Tally) -> TallyPublic:
    return TallyPublic(entries=tally.entries, nothing_to_report=tally.nothing, days=tally.days)


def _adherence(item: Any, result: engine.Adherence, *, with_days: bool) -> AdherencePublic:
    assignment = item.assignment
    median = result.median_delay
    return AdherencePublic(
        assignment_id=assignment.id,
        title=item.title,
        frequency=str(assignment.frequency),
        times_per_day=assignment.times_per_day,
        weekdays=list(assignment.weekdays),
        first_day=result.first_day,
        last_day=result.last_day,
        window_from=result.window_from,
        expected=result.expected,
        done=result.done,
        nothing_to_report=result.nothing_to_report,
        missed=result.missed,
        pending=result.pending,
        current_streak=result.current_streak,
        longest_streak=result.longest_streak,
        overall=_rate(result.overall),
        since_last_session=_rate(result.since) if result.since is not None else None,
        last_7_days=_rate(result.last_7),
        last_28_days=_rate(result.last_28),
        score=round(result.score, 4),
        backfilled=result.backfilled,
        median_delay_minutes=None if median is None else round(median.total_seconds() / 60, 1),
        as_it_happens=result.as_it_happens,
        extra_days=result.extra,
        entries_last_7_days=_tally(result.happened_7),
        entries_last_28_days=_tally(result.happened_28),
        entries_since_last_session=_tally(result.happened_since) if result.happened_since is not None else None,
        in_the_moment=None if result.in_the_moment is None else _rate(result.in_the_moment),
        complete=None if result.complete is None else _rate(result.complete),
        days=[DayPublic(day=d.day, state=d.state, count=d.count, expected=d.expected) for d in result.days]
        if with_days
        else None,
    )


def _session(item: Any) -> AppointmentBrief | None:
    if item is None:
        return None
    return AppointmentBrief(id=item.id, starts_at=item.starts_at, ends_at=item.ends_at, timezone=item.timezone)


def _appointment(item: Any) -> AppointmentPublic:
    return AppointmentPublic(
        id=item.id,
        client_id=item.client_id,
        starts_at=item.starts_at,
        ends_at=item.ends_at,
        timezone=item.timezone,
        duration_minutes=item.duration_minutes,
        repeat=Repeat(item.repeat),
        series_id=item.series_id,
        cancelled_at=item.cancelled_at,
        notes=item.notes,
    )


@router.get(
    "/caseload",
    response_model=list[CaseloadRowPublic],
    responses=ERRORS,
    summary="My clients, sorted by next session, with adherence over the recent window",
)
def get_caseload(session: SessionDep, settings: SettingsDep, therapist: CurrentTherapist) -> Any:
    rows = caseload.build(
        session,
        therapist=therapist,
        silent_after_reminders=settings.silent_after_reminders,
        silent_after_days=settings.silent_after_days,
    )
    return [
        CaseloadRowPublic(
            client_id=row.client.id,
            display_name=row.client.display_name,
            timezone=row.client.timezone,
            standing=row.standing,
            next_session=_session(row.next_session),
            last_session=_session(row.last_session),
            completion_since_last_session=_rate(row.completion),
            best_current_streak=row.best_streak,
            last_entry_at=row.last_entry_at,
            delivery=row.delivery.state,
            last_delivered_at=row.delivery.last_delivered_at,
            risk=row.risk,
            records=[_adherence(record.item, record.adherence, with_days=False) for record in row.records],
        )
        for row in rows
    ]


@router.get(
    "/clients/{client_id}/adherence",
    response_model=ClientAdherencePublic,
    responses=ERRORS,
    summary="Adherence of one client per assignment, over its whole history, with per-day states",
)
def get_adherence(client_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Any:
    read = adherence.read(session, therapist=therapist, client_id=client_id, now=utcnow())
    session.commit()
    return ClientAdherencePublic(
        client_id=read.client.id,
        since_last_session=read.since,
        records=[_adherence(item, figures, with_days=True) for item, figures in read.records],
    )


def _series(items: list[brief.Series]) -> list[SeriesPublic]:
    return [
        SeriesPublic(
            key=s.key,
            label=i18n.gettext(s.label),
            low=s.low,
            high=s.high,
            severity=s.band,
            points=[PointPublic(day=p.day, value=round(p.value, 2), count=p.count) for p in s.points],
        )
        for s in items
    ]


@router.get(
    "/clients/{client_id}/brief",
    response_model=BriefPublic,
    responses=ERRORS,
    summary="The pre-session brief (shared entries only; private ones only count as done)",
)
def get_brief(
    client_id: uuid.UUID,
    session: SessionDep,
    therapist: CurrentTherapist,
    appointment_id: Annotated[
        uuid.UUID | None, Query(alias="appointment", description="The session to brief for (default: the next)")
    ] = None,
    # The parameter's first name, kept for clients written against it: "session" also names the
    # database session and a sign-in, so the appointment is called so.
    legacy_session: Annotated[uuid.UUID | None, Query(alias="session", deprecated=True)] = None,
) -> Any:
    chosen = appointment_id or legacy_session
    data = brief.read(session, therapist=therapist, client_id=client_id, appointment_id=chosen)
    session.commit()
    return BriefPublic(
        client_id=data.client.id,
        session=_appointment(data.appointment) if data.appointment else None,
        previous_session=_session(data.previous),
        since=data.since,
        as_of=data.as_of,
        records=[_adherence(r.item, r.adherence, with_days=True) for r in data.records],
        trends=_series(data.trends),
        questionnaires=_series(data.questionnaires),
        risks=[RiskPublic(kind=r.kind, occurred_at=r.occurred_at, entry_id=r.entry_id) for r in data.risks],
        agenda=[
            AgendaItem(
                entry_id=row.id,
                assignment_id=row.assignment_id,
                title=data.titles.get(row.assignment_id, ""),
                occurred_at=row.occurred_at,
                answers=row.answers,
                picked=row.id in data.client_agenda.picked,
            )
            for row in data.agenda
        ],
        client_note=data.client_agenda.note,
        backfilled=[
            BackfillItem(
                entry_id=item.entry.id,
                title=item.title,
                occurred_at=item.entry.occurred_at,
                logged_at=item.entry.logged_at,
                delay_hours=round(item.delay.total_seconds() / 3600, 1),
            )
            for item in data.backfilled
        ],
        functional_analysis=_functional(data.functional),
        barriers=_barriers(data.barriers),
        agreements=[_agreement(held) for held in data.agreements],
    )


def _reasons(found: list[barriers.ReasonCount]) -> list[ReasonCountPublic]:
    return [
        ReasonCountPublic(reason=str(item.reason), label=item.label, count=item.count, question=item.question)
        for item in found
        if item.reason is not None
    ]


def _barriers(summary: barriers.Summary) -> BarriersPublic:
    return BarriersPublic(
        total=summary.total,
        about_them=_reasons(summary.me),
        about_the_task=_reasons(summary.task),
        done_not_recorded=summary.did_it,
        done_not_recorded_question=summary.did_it_question,
        notes=[
            CheckinNotePublic(
                day=note.day,
                assignment_id=note.assignment_id,
                title=note.title,
                note=note.note,
                discuss=note.discuss,
                voice_note_id=note.voice_note_id,
            )
            for note in summary.notes
        ],
    )


def _agreement(held: plans.Held) -> AgreementPublic:
    return AgreementPublic(
        plan_id=held.plan.id,
        assignment_id=held.plan.assignment_id,
        title=held.title,
        first_line=plans.first_line(held.plan),
        why=held.plan.why,
        confirmed_at=held.plan.confirmed_at,
        outcome=held.outcome,
        done=held.done,
        expected=held.expected,
        written=held.written,
        changes_since_confirmed=len(held.changes),
    )


def _functional(found: functional_analysis.FunctionalAnalysis) -> FunctionalAnalysisPublic:
    return FunctionalAnalysisPublic(
        window_from=found.window_start,
        entries_since_last_session=found.entries_since_session,
        entries_last_28_days=found.entries_last_28,
        parts=[
            FunctionalPartPublic(
                part=part.part.value,
                label=part.label,
                counts=[
                    FunctionalCountPublic(
                        value=item.value,
                        label=item.text,
                        since_last_session=item.since_session,
                        last_28_days=item.last_28,
                        entry_ids=[behind.entry_id for behind in item.entries],
                    )
                    for item in part.counts
                ],
            )
            for part in found.dimensions.values()
        ],
    )


@router.get(
    "/clients/{client_id}/sessions",
    response_model=list[AppointmentPublic],
    responses=ERRORS,
    summary="A client's sessions (cancelled ones included)",
)
def list_sessions(client_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Any:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    rows = appointments.for_client(session, client_id=client.id, include_cancelled=True)
    return [_appointment(row) for row in rows]


@router.post(
    "/clients/{client_id}/sessions",
    response_model=list[AppointmentPublic],
    status_code=201,
    responses=ERRORS,
    summary="Schedule a session (weekly/biweekly repeats are created for the next 26 weeks)",
)
def create_session(
    client_id: uuid.UUID, data: AppointmentCreate, session: SessionDep, therapist: CurrentTherapist
) -> Any:
    if data.starts_at.tzinfo is None:
        raise Invalid(_("The session needs a time zone."), errors={"starts_at": _("Add a UTC offset.")})
    created = appointments.schedule(
        session,
        therapist=therapist,
        client_id=client_id,
        starts_at=data.starts_at,
        timezone=data.timezone,
        duration_minutes=data.duration_minutes,
        repeat=data.repeat,
    )
    session.commit()
    return [_appointment(row) for row in created]


@router.patch(
    "/sessions/{appointment_id}",
    response_model=AppointmentPublic,
    responses=ERRORS,
    summary="Move one session",
)
def move_session(
    appointment_id: uuid.UUID, data: AppointmentMove, session: SessionDep, therapist: CurrentTherapist
) -> Any:
    moved = appointments.move(
        session,
        therapist=therapist,
        appointment_id=appointment_id,
        starts_at=data.starts_at,
        duration_minutes=data.duration_minutes,
    )
    session.commit()
    return _appointment(moved)


@router.delete(
    "/sessions/{appointment_id}",
    status_code=204,
    responses=ERRORS,
    summary="Cancel a session (following=true: and every later one of its series)",
)
def cancel_session(
    appointment_id: uuid.UUID,
    session: SessionDep,
    therapist: CurrentTherapist,
    following: bool = False,
) -> Response:
    appointments.cancel(session, therapist=therapist, appointment_id=appointment_id, following=following)
    session.commit()
    return Response(status_code=204)


@router.put(
    "/sessions/{appointment_id}/notes",
    response_model=AppointmentPublic,
    responses=ERRORS,
    summary="Replace my notes for a session (never shown to the client)",
)
def put_notes(appointment_id: uuid.UUID, data: NotesUpdate, session: SessionDep, therapist: CurrentTherapist) -> Any:
    saved = appointments.save_notes(session, therapist=therapist, appointment_id=appointment_id, notes=data.notes)
    session.commit()
    return _appointment(saved)


@router.get(
    "/clients/{client_id}/insights",
    response_model=InsightsPublic,
    responses=ERRORS,
    summary="My patterns of one client, from their shared entries only, for the sections left on",
)
def get_insights(client_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist) -> Any:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    return pattern_view.public(patterns.for_therapist(session, therapist=therapist, client=client))
