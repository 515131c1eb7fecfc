"""JSON API for the client's phone (and the offline sync), under /api/v1."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, TypeAdapter
from starlette.concurrency import run_in_threadpool

from app.models import AssignmentPublic, EntryCreate, EntryPublic, EntryUpdate
from app.services import assignments, entries, phone_zone
from app.web.deps import ClientAccess, CurrentClient, SessionDep, get_client_id, thread_session

router = APIRouter(prefix="/api/v1", tags=["client"])


class Problem(BaseModel):
    detail: str
    errors: dict[str, str] | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body could not be read (not valid JSON or form data)"},
    401: {"model": Problem, "description": "Not signed in"},
    403: {"model": Problem, "description": "CSRF token missing or wrong"},
    404: {"model": Problem, "description": "Not found, or not yours"},
    413: {"model": Problem, "description": "The request body is too large"},
    422: {"model": Problem, "description": "Invalid input"},
    423: {"model": Problem, "description": "Locked: the client's app PIN must be entered on this device"},
    429: {"model": Problem, "description": "Too many requests: wait for Retry-After seconds"},
    503: {"model": Problem, "description": "The database is briefly unavailable: retry after Retry-After seconds"},
}


class ProfilePublic(BaseModel):
    """The signed-in client as their phone needs them: how to greet them, in which language,
    and the clock their days and reminders follow."""

    display_name: str
    locale: str | None = Field(description="The client's language (en, es); null: the phone's")
    timezone: str = Field(description="IANA time zone that reminders and days follow, e.g. America/New_York")
    timezone_known: bool = Field(
        description="False while the zone is the UTC placeholder a new client starts with, before their phone says"
    )
    day_boundary: str = Field(
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="When the client's day ends, HH:MM in their zone (00:00, or up to 06:00 for night owls)",
    )


class TaskPublic(BaseModel):
    assignment_id: uuid.UUID
    template_id: uuid.UUID
    template_version_id: uuid.UUID
    title: str
    done_today: int
    expected_today: int
    due_today: bool
    complete: bool


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


@router.get("/me", response_model=ProfilePublic, responses=ERRORS, summary="My profile (name, language, time zone)")
def me(client: CurrentClient) -> Any:
    return ProfilePublic(
        display_name=client.display_name,
        locale=client.locale,
        timezone=client.timezone,
        timezone_known=phone_zone.known(client),
        day_boundary=client.day_boundary.strftime("%H:%M"),
    )


@router.get("/today", response_model=list[TaskPublic], responses=ERRORS, summary="Today's tasks")
def today(session: SessionDep, client: CurrentClient) -> Any:
    return [
        TaskPublic(
            assignment_id=task.assignment.id,
            template_id=task.assignment.template_id,
            template_version_id=task.version.id,
            title=task.version.title,
            done_today=task.done_today,
            expected_today=task.expected_today,
            due_today=task.due_today,
            complete=task.complete,
        )
        for task in assignments.today(session, client=client)
    ]


@router.get("/assignments", response_model=list[AssignmentPublic], responses=ERRORS, summary="My assigned records")
def list_assignments(session: SessionDep, client: CurrentClient) -> Any:
    return [assignment for assignment, _version in assignments.active_for_client(session, client_id=client.id)]
