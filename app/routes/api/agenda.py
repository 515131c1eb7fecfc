"""The client's agenda for their next session in the JSON API (the day-before page's data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.models import AgendaPublic, AgendaUpdate
from app.models.session_agenda import AgendaEntry, AgendaQuestionnaire
from app.services import day_before
from app.web.deps import CurrentClient, SessionDep
from app.web.problems import ERRORS, Problem

router = APIRouter(prefix="/api/v1", tags=["agenda"])


def _public(data: day_before.DayBefore) -> AgendaPublic:
    appointment = data.appointment
    return AgendaPublic(
        appointment_id=appointment.id if appointment else None,
        starts_at=appointment.starts_at if appointment else None,
        timezone=appointment.timezone if appointment else None,
        picks=[view.entry.id for view in data.entries if view.entry.id in data.picked],
        note=data.note,
        note_private=data.note_private,
        entries=[
            AgendaEntry(
                id=view.entry.id,
                assignment_id=view.entry.assignment_id,
                title=view.title,
                occurred_at=view.entry.occurred_at,
                picked=view.entry.id in data.picked,
            )
            for view in data.entries
        ],
        questionnaires_due=[
            AgendaQuestionnaire(assignment_id=item.assignment_id, title=item.title) for item in data.questionnaires
        ],
    )


@router.get(
    "/agenda",
    response_model=AgendaPublic,
    responses=ERRORS,
    summary="My next session: entries I could bring, what I picked, my note, a questionnaire due",
)
def get_agenda(session: SessionDep, client: CurrentClient) -> Any:
    return _public(day_before.page(session, client=client))


@router.put(
    "/agenda",
    response_model=AgendaPublic,
    responses={**ERRORS, 410: {"model": Problem, "description": "No session ahead, or it is not the one named"}},
    summary="Pick entries to discuss and leave a note for my next session (replaces what was there)",
)
def put_agenda(data: AgendaUpdate, session: SessionDep, client: CurrentClient) -> Any:
    day_before.save(session, client=client, data=data)
    session.commit()
    return _public(day_before.page(session, client=client))
