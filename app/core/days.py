"""The client's local day: their time zone and their own day boundary."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_day(instant: datetime, *, timezone: str, boundary: time = time(0, 0)) -> date:
    """The day an instant belongs to for this client.

    With a 03:00 boundary, 01:30 on Tuesday still counts as Monday: night owls
    log "today" after midnight.
    """
    local = instant.astimezone(ZoneInfo(timezone))
    shift = timedelta(hours=boundary.hour, minutes=boundary.minute)
    return (local.replace(tzinfo=None) - shift).date()


def day_bounds(day: date, *, timezone: str, boundary: time = time(0, 0)) -> tuple[datetime, datetime]:
    """The UTC-aware instants [start, end) of a client's local day."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, boundary).replace(tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), boundary).replace(tzinfo=zone)
    return start, end
