"""Barrier check-ins on the client's pages: Today's one question a day, and a day in words."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from sqlmodel import Session

from app.core import i18n
from app.models import Client
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
    return {"prompt": found, "heading": heading}
