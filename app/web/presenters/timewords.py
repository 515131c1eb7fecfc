"""Instants in words for pages: a date with its time in a named zone, and how long ago."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta

from app.core import i18n
from app.models.types import utcnow


def local_when(instant: datetime, zone: str, pattern: str = "EEE d MMM, HH:mm") -> str:
    """`instant` as the wall-clock date and time in `zone`, in the page's language."""
    return format_datetime(instant.astimezone(ZoneInfo(zone)), pattern, locale=i18n.format_locale())


def ago(instant: datetime, now: datetime | None = None) -> str:
    """How long ago, in words: "just now", "3 hours ago", "6 days ago", "2 weeks ago".

    Days stay days up to two weeks, so a count over the last seven days and "6 days ago"
    agree (babel alone would round six days to "1 week ago").
    """
    delta = instant - (now or utcnow())
    if delta > -timedelta(minutes=1):
        return i18n.gettext("just now")
    locale = i18n.get_locale()
    if delta > -timedelta(days=2):
        return format_timedelta(delta, add_direction=True, locale=locale)
    if delta > -timedelta(days=14):
        # Whole days gone by: 6 days and 23 hours is "6 days ago", inside a 7-day count.
        whole = -delta // timedelta(days=1)
        return format_timedelta(timedelta(days=-whole), threshold=2.0, add_direction=True, locale=locale)
    return format_timedelta(delta, threshold=2.0, add_direction=True, locale=locale)


def when(instant: datetime | None, zone: str = "UTC", pattern: str = "EEE d MMM, HH:mm") -> str:
    """An instant as wall-clock time in a zone, in the page's language."""
    if instant is None:
        return ""
    return _formatted(instant, zone, pattern, i18n.format_locale())


# A page names one entry's time in several places (the brief's functional analysis lists an
# entry under each box it ticked), and Babel's formatting is slow next to a lookup.
@lru_cache(maxsize=4096)
def _formatted(instant: datetime, zone: str, pattern: str, locale: str) -> str:
    return format_datetime(instant.astimezone(ZoneInfo(zone)), pattern, locale=locale)
