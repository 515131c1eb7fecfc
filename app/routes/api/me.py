"""The client's profile, today's tasks and assigned records in the JSON API."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.models import AssignmentPublic
from app.services import assignment_lookup, assignments, phone_zone
from app.web.deps import CurrentClient, SessionDep
from app.web.problems import ERRORS

router = APIRouter(prefix="/api/v1", tags=["client"])


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
    complete: bool = Field(description="today's entries are there; for a weekly record, this week's")
    done_this_week: int | None = Field(default=None, description="a weekly record: the entries in its week")
    week_ends_on: date | None = Field(default=None, description="a weekly record: the last day of its week")


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
            done_this_week=task.done_this_week if task.week else None,
            week_ends_on=task.week[1] if task.week else None,
        )
        for task in assignments.today(session, client=client)
    ]


@router.get("/assignments", response_model=list[AssignmentPublic], responses=ERRORS, summary="My assigned records")
def list_assignments(session: SessionDep, client: CurrentClient) -> Any:
    return [assignment for assignment, _version in assignment_lookup.active_for_client(session, client_id=client.id)]
