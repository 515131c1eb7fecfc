"""Barrier check-ins on the client's pages: Today's one question a day, and a day in words."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import Request
from sqlmodel import Session

from app.core import i18n
from app.models import Client
from app.models.barrier import ME_REASONS, TASK_REASONS
from app.services import barriers
from app.web.presenters import charts

# "Not now" on Today's question: the client's local day it was said, so it stays quiet until tomorrow.
QUIET_COOKIE = "between_barrier_quiet"


def day_words(day: date, today: date) -> str:
    if day == today:
        return i18n.gettext("today")
    if (today - day).days == 1:
        return i18n.gettext("yesterday")
    return charts.long_date(day)


def reason_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The reasons as buttons, in Callan's two groups: the client's side and the task's."""
    return [
        (i18n.gettext("About me"), [(reason, i18n.gettext(barriers.LABELS[reason])) for reason in ME_REASONS]),
        (i18n.gettext("About the task"), [(reason, i18n.gettext(barriers.LABELS[reason])) for reason in TASK_REASONS]),
    ]


def checkin_form(title: str, day: date, today: date) -> dict[str, Any]:
    """What a one-tap check-in form needs: the reasons, a fresh id (a phone replaces it
    with its own before each use, as a page kept offline repeats the id it was served
    with), and how the phone's waiting list names it while it waits to be sent."""
    return {
        "groups": reason_groups(),
        "did_it_label": i18n.gettext(barriers.DID_IT_LABEL),
        "checkin_id": uuid.uuid4(),
        "outbox_title": i18n.gettext("%(title)s: not today, because…", title=title),
        "day_words": day_words(day, today),
    }


def today_prompt(request: Request, session: Session, client: Client) -> dict[str, Any] | None:
    """Today's one question about a recently missed record, with its heading; None for none."""
    found = barriers.prompt(session, client=client, quiet_day=request.cookies.get(QUIET_COOKIE))
    if found is None:
        return None
    if (found.today - found.day).days == 1:
        heading = i18n.gettext("%(title)s wasn't written yesterday", title=found.title)
    else:
        heading = i18n.gettext(
            "%(title)s wasn't written on %(day)s", title=found.title, day=charts.long_date(found.day)
        )
    return {"prompt": found, "heading": heading, **checkin_form(found.title, found.day, found.today)}
