"""The pre-session brief, and the therapist's notes on a session."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from app.services import appointments, brief, plans
from app.web.deps import CurrentTherapist, SessionDep
from app.web.presenters import brief as brief_view
from app.web.presenters import charts
from app.web.render import redirect, render, wants_fragment

router = APIRouter(prefix="/t", include_in_schema=False)


@router.get("/clients/{client_id}/brief")
def brief_page(
    request: Request,
    client_id: uuid.UUID,
    session: SessionDep,
    therapist: CurrentTherapist,
    session_id: Annotated[uuid.UUID | None, Query(alias="session")] = None,
) -> Response:
    data = brief.read(session, therapist=therapist, client_id=client_id, appointment_id=session_id)
    session.commit()
    first, last = data.first_day, data.last_day
    heatmaps = [
        (record, charts.calendar(record.adherence.days, first_day=first, last_day=last)) for record in data.records
    ]
    trend_first = min((p.day for s in data.trends + data.questionnaires for p in s.points), default=first)
    trend_first = min(trend_first, first)
    trend_charts = [
        charts.line_chart(s, first_day=trend_first, last_day=last, chart_id=f"trend-{s.key}") for s in data.trends
    ]
    score_charts = [
        (s, charts.line_chart(s, first_day=trend_first, last_day=last, chart_id=f"score-{s.key}"))
        for s in data.questionnaires
    ]
    # What the client wrote: every shared entry since the last session, by record type.
    reading = brief_view.reading(session, data)
    context = {
        "brief": data,
        "client": data.client,
        "heatmaps": heatmaps,
        "trend_charts": trend_charts,
        "score_charts": score_charts,
        "reading": reading,
        # Entries with a card on this page: the functional analysis links to them in place.
        "on_brief": {view.entry.id for group in reading.groups for view in group.items},
        # What got in the way (never a private check-in), and the plans made together.
        "barriers": data.barriers,
        "agreements": data.agreements,
        "plan_line": plans.first_line,
        "obstacle_line": plans.obstacle_line,
        "describe_changes": lambda changes: plans.describe(session, changes),
        **charts.page_helpers(),
    }
    return render(request, "pages/therapist/brief.html", context, block="content")


@router.post("/sessions/{appointment_id}/notes")
def save_notes(
    request: Request,
    appointment_id: uuid.UUID,
    session: SessionDep,
    therapist: CurrentTherapist,
    notes: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    appointment = appointments.save_notes(session, therapist=therapist, appointment_id=appointment_id, notes=notes)
    session.commit()
    if not wants_fragment(request):
        return redirect(request, f"/t/clients/{appointment.client_id}/brief?session={appointment.id}")
    return render(
        request,
        "pages/therapist/brief_notes.html",
        {"appointment": appointment, "saved": True, **charts.page_helpers()},
        block="notes",
    )
