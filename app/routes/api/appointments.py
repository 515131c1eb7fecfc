"""The client's upcoming sessions in the JSON API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.models import AppointmentForClient
from app.services import appointments
from app.web.deps import CurrentClient, SessionDep
from app.web.problems import ERRORS

router = APIRouter(prefix="/api/v1", tags=["client"])


@router.get(
    "/sessions/upcoming",
    response_model=list[AppointmentForClient],
    responses=ERRORS,
    summary="My next sessions (when, never the therapist's notes)",
)
def my_upcoming_sessions(session: SessionDep, client: CurrentClient) -> Any:
    rows = appointments.upcoming_for_client(session, client_id=client.id, limit=10)
    return [
        AppointmentForClient(
            id=row.id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            timezone=row.timezone,
            duration_minutes=row.duration_minutes,
        )
        for row in rows
    ]
