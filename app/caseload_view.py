"""The caseload page's rows as its template prints them.

A full caseload has 200 rows: each label is translated and each day is formatted once
per request here, and the template only writes out strings (no function call per row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from markupsafe import Markup

from app import i18n
from app.services.caseload import CaseloadRow


@dataclass(frozen=True, slots=True)
class RowView:
    url: str  # the client's page
    name: str
    standing: str  # a CSS class suffix
    standing_label: str
    risk: bool
    next_session: str
    brief_url: str
    since_last_session: bool  # else the completion is over the last four weeks
    completion: str  # "3 of 7", or "" when nothing was expected
    bar: int  # the completion in tenths
    streaks: Markup  # one line per record
    last_entry: str
    delivery_ok: bool
    delivery: str


class Dates:
    """Instants as the page writes them, in the page's language: babel formats each local day once."""

    def __init__(self) -> None:
        self.locale = i18n.get_locale()
        self._days: dict[date, str] = {}

    def day(self, local: datetime) -> str:
        text = self._days.get(local.date())
        if text is None:
            text = self._days[local.date()] = format_datetime(local, "EEE d MMM", locale=self.locale)
        return text

    def day_and_time(self, local: datetime) -> str:
        # The pattern "EEE d MMM, HH:mm": the day, a literal ", " and two-digit hours and minutes.
        return f"{self.day(local)}, {local.hour:02d}:{local.minute:02d}"


def caseload_rows(rows: list[CaseloadRow]) -> list[RowView]:
    days = Dates()
    labels: dict[str, str] = {}

    def label(message: str) -> str:
        text = labels.get(message)
        if text is None:
            text = labels[message] = i18n.gettext(message)
        return text

    none_scheduled, none_yet = i18n.gettext("none scheduled"), i18n.gettext("none yet")
    line_break = Markup("<br>")
    views = []
    for row in rows:
        client = row.client
        url = f"/t/clients/{client.id}"
        upcoming = row.next_session
        completion = row.completion
        value = completion.value
        views.append(
            RowView(
                url=url,
                name=client.display_name,
                standing=row.standing.value,
                standing_label=label(row.standing_label),
                risk=row.risk,
                next_session=none_scheduled
                if upcoming is None
                else days.day_and_time(upcoming.starts_at.astimezone(ZoneInfo(upcoming.timezone))),
                brief_url=f"{url}/brief" if upcoming is None else f"{url}/brief?session={upcoming.id}",
                since_last_session=row.last_session is not None,
                completion=""
                if value is None
                else i18n.gettext("%(done)s of %(expected)s", done=completion.done, expected=completion.expected),
                bar=round(value * 10) if value is not None else 0,
                # Markup.join escapes each line: record titles are a therapist's own words.
                streaks=line_break.join(
                    f"{record.item.title}: {record.adherence.current_streak}{'+' if record.streak_at_least else ''}"
                    for record in row.records
                )
                or Markup("–"),
                last_entry=none_yet
                if row.last_entry_at is None
                else days.day(row.last_entry_at.astimezone(ZoneInfo(client.timezone))),
                delivery_ok=row.delivery.state == "ok",
                delivery=label(row.delivery.label),
            )
        )
    return views
