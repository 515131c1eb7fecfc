"""Dates on pages as the person writes them: their language with their browser's region
(en-GB: 6 Dec 2026; en-US: Dec 6, 2026; es: 6 dic 2026), never a raw 2026-12-06."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time

from app.core import i18n


def _local(value: datetime, zone: str | None) -> datetime:
    return value.astimezone(ZoneInfo(zone)) if zone and value.tzinfo is not None else value


def local_date(value: date | datetime, zone: str | None = None) -> str:
    """The day of `value` (an instant is first put in `zone`): "6 Dec 2026" in en_GB."""
    day = _local(value, zone).date() if isinstance(value, datetime) else value
    return format_date(day, "medium", locale=i18n.format_locale())


def local_date_time(value: datetime, zone: str | None = None) -> str:
    """Day and time of an instant in `zone`: "6 Dec 2026, 14:30" in en_GB, "Dec 6, 2026, 2:30 PM" in en_US."""
    locale = Locale.parse(i18n.format_locale())
    local = _local(value, zone)
    pattern = str(locale.datetime_formats["medium"])
    return pattern.replace("{1}", format_date(local.date(), "medium", locale=locale)).replace(
        "{0}", format_time(local.time(), "short", locale=locale)
    )
