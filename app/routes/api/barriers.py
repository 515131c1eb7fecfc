"""Barrier check-ins in the JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from app.models import BarrierCreate, BarrierPublic
from app.services import barriers
from app.web.deps import ClientAccess, CurrentClient, SessionDep
from app.web.problems import ERRORS, Problem

router = APIRouter(prefix="/api/v1", tags=["barriers"])


@router.post(
    "/barriers",
    response_model=BarrierPublic,
    status_code=201,
    responses={
        **ERRORS,
        200: {"model": BarrierPublic, "description": "Already stored (same id and content)"},
        409: {"model": Problem, "description": "Same id, different content; or this day already has a check-in"},
        422: {
            "model": Problem,
            "description": "Invalid: no reason chosen, a day not missed, a note too long, or a voice note "
            "that is not the client's own unused upload",
        },
    },
    summary="Say what got in the way of a missed record (idempotent on its client-generated id); "
    "a voice note uploaded first (POST /api/v1/voice-notes) may go with it",
)
def create_barrier(data: BarrierCreate, session: SessionDep, client: CurrentClient, access: ClientAccess) -> Response:
    saved = barriers.record(session, client=client, data=data, device_id=access.device_id)
    public = BarrierPublic.model_validate(saved.checkin, from_attributes=True)
    body = public.model_copy(update={"voice_note_id": saved.voice_note_id}).model_dump_json()
    session.commit()
    return Response(body, status_code=201 if saved.created else 200, media_type="application/json")


@router.get("/barriers", response_model=list[BarrierPublic], responses=ERRORS, summary="My check-ins")
def list_barriers(
    session: SessionDep,
    client: CurrentClient,
    access: ClientAccess,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    rows = barriers.list_for_client(session, client=client, access=access, limit=limit)
    return barriers.public(session, checkins=rows)
