"""The client's entries in the JSON API: the phone's outbox syncs through here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool

from app.models import EntryCreate, EntryPublic, EntryUpdate
from app.services import entries
from app.web.deps import ClientAccess, CurrentClient, SessionDep, get_client_id, thread_session
from app.web.problems import ERRORS, Problem

router = APIRouter(prefix="/api/v1", tags=["client"])


@router.post(
    "/entries",
    response_model=EntryPublic,
    status_code=201,
    responses={
        **ERRORS,
        200: {"model": EntryPublic, "description": "Already stored (same id and content)"},
        409: {"model": Problem, "description": "Same id, different content"},
        410: {"model": Problem, "description": "The entry was deleted"},
    },
    summary="Create an entry (idempotent on its client-generated id)",
)
async def create_entry(data: EntryCreate, request: Request) -> Response:
    # The busiest write (every offline sync replays through it), kept lean: signing in,
    # saving and writing the answer happen in one trip to the thread pool, on a session
    # opened there rather than by a dependency; the answer goes back already serialized
    # (by the same model the decorator documents), so FastAPI does not validate it again.
    body, created = await run_in_threadpool(_create_entry, request, data)
    return Response(body, status_code=201 if created else 200, media_type="application/json")


_ENTRY_JSON = TypeAdapter(EntryPublic)


def _create_entry(request: Request, data: EntryCreate) -> tuple[bytes, bool]:
    with thread_session(request) as session:
        # Same checks as CurrentClient (401, PIN lock), reading only what a write needs.
        client_id, device_id = get_client_id(request, session)
        stored = entries.store(session, client_id=client_id, device_id=device_id, data=data)
        session.commit()
    return _ENTRY_JSON.dump_json(_ENTRY_JSON.validate_python(stored.row)), stored.created


@router.get("/entries", response_model=list[EntryPublic], responses=ERRORS, summary="List my entries")
def list_entries(
    session: SessionDep,
    client: CurrentClient,
    access: ClientAccess,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: datetime | None = None,
    assignment_id: uuid.UUID | None = None,
) -> Any:
    return entries.list_for_client(
        session, client=client, access=access, limit=limit, before=before, assignment_id=assignment_id
    )


@router.get(
    "/entries/{entry_id}",
    response_model=EntryPublic,
    responses={**ERRORS, 410: {"model": Problem, "description": "Deleted"}},
    summary="One of my entries",
)
def get_entry(entry_id: uuid.UUID, session: SessionDep, client: CurrentClient, access: ClientAccess) -> Any:
    return entries.get_own(session, client=client, access=access, entry_id=entry_id)


@router.patch(
    "/entries/{entry_id}",
    response_model=EntryPublic,
    responses={**ERRORS, 410: {"model": Problem, "description": "Deleted"}},
    summary="Change one of my entries (answers, visibility, time)",
)
def update_entry(
    entry_id: uuid.UUID, data: EntryUpdate, session: SessionDep, client: CurrentClient, access: ClientAccess
) -> Any:
    entry = entries.update(session, client=client, access=access, entry_id=entry_id, data=data)
    session.commit()
    return entry


@router.delete(
    "/entries/{entry_id}",
    status_code=204,
    responses={**ERRORS, 410: {"model": Problem, "description": "Already deleted"}},
    summary="Delete one of my entries",
)
def delete_entry(entry_id: uuid.UUID, session: SessionDep, client: CurrentClient, access: ClientAccess) -> Response:
    entries.delete(session, client=client, access=access, entry_id=entry_id)
    session.commit()
    return Response(status_code=204)
