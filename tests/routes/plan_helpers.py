"""What the plan route tests share: counting what is stored, and reading a screen's version."""

from __future__ import annotations

import re

from sqlmodel import Session, func, select

from app.models import Assignment, Plan, PlanChange, Reminder

HTMX = {"HX-Request": "true"}


def counts(session: Session) -> tuple[int, int, int, int]:
    """Plans, their changes, assignments and reminders stored now."""
    session.expire_all()
    return tuple(  # type: ignore[return-value]
        int(session.exec(select(func.count()).select_from(model)).one())
        for model in (Plan, PlanChange, Assignment, Reminder)
    )


def since(html: str) -> int:
    """The version a plan page (or a catching-up answer) says its form was made on."""
    found = re.search(r'id="plan-since" name="since" value="(\d+)"', html)
    assert found, html[:500]
    return int(found.group(1))
