"""The caseload page's rows as its template prints them.

A full caseload has 200 rows: each label is translated and each day is formatted once
per request here, and the template only writes out strings (no function call per row).

The table view sorts and filters these rows: here for a page loaded without JavaScript
(`?sort=-next&q=al`), and in the browser by the same keys (`caseload.js` reads them from
each row's data attributes), so both give the same order.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from markupsafe import Markup, escape

from app.core import i18n
from app.core.errors import Invalid
from app.services.caseload import CaseloadRow, RecordSummary, TodaySession


class View(StrEnum):
    cards = "cards"
    table = "table"


class SortKey(StrEnum):
    name = "name"
    next = "next"
    completion = "completion"
    streak = "streak"
    last = "last"
    risk = "risk"


# The first press on a column's button sorts this way; the next press turns it round.
# Streaks and risk flags read best most-first; the rest soonest, lowest or A first.
FIRST_DESCENDING = {SortKey.streak, SortKey.risk}


@dataclass(frozen=True, slots=True)
class Sort:
    key: SortKey
    descending: bool = False

    @property
    def param(self) -> str:
        return f"-{self.key}" if self.descending else str(self.key)

    def toggled(self, key: SortKey) -> Sort:
        """The sort a press on `key`'s header asks for."""
        if key == self.key:
            return Sort(key, not self.descending)
        return Sort(key, key in FIRST_DESCENDING)


# Without a choice: by next session, as the cards are.
DEFAULT_SORT = Sort(SortKey.next)


# The table's columns, in order, with their headings (msgids).
COLUMNS = [
    (SortKey.name, i18n.N_("Client")),
    (SortKey.next, i18n.N_("Next session")),
    (SortKey.completion, i18n.N_("Since last session")),
    (SortKey.streak, i18n.N_("Streak")),
    (SortKey.last, i18n.N_("Last entry")),
    (SortKey.risk, i18n.N_("Risk answer")),
]


@dataclass(frozen=True, slots=True)
class Column:
    key: SortKey
    label: str
    press: str  # the sort its button asks for now
    first: str  # the sort a first press on it asks for
    aria_sort: str  # "ascending", "descending", or "" when the table is not sorted by it
    mark: str  # an arrow, for the eye only


def columns(order: Sort) -> list[Column]:
    out = []
    for key, label in COLUMNS:
        sorted_by = order.key == key
        out.append(
            Column(
                key=key,
                label=i18n.gettext(label),
                press=order.toggled(key).param,
                first=Sort(key, key in FIRST_DESCENDING).param,
                aria_sort=("descending" if order.descending else "ascending") if sorted_by else "",
                mark=("▼" if order.descending else "▲") if sorted_by else "↕",
            )
        )
    return out


def parse_view(value: str | None) -> View | None:
    if value is None or value == "":
        return None
    try:
        return View(value)
    except ValueError:
        raise Invalid(i18n.gettext("Choose cards or a table.")) from None


def parse_sort(value: str | None) -> Sort:
    if not value:
        return DEFAULT_SORT
    descending = value.startswith("-")
    try:
        return Sort(SortKey(value[1:] if descending else value), descending)
    except ValueError:
        raise Invalid(i18n.gettext("Choose one of the table's columns to sort by.")) from None


def fold(text: str) -> str:
    """Text as search compares it: lower case, accents dropped ("José" is found as "jose")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char)).strip()


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
    # A silent device: a delivery problem, never the client's doing, so not shown as a warning.
    delivery_note: bool
    # For the table: what search compares, the values each column sorts by (None: nothing
    # to sort by, always last), and the same as data attributes for the browser's sorting.
    search: str
    keys: dict[SortKey, float | str | None]
    data: Markup
    best_streak: int
    window_label: str  # "" when the completion is since the last session
    # One line per record with entries written since the last session: how many in the moment,
    # and complete (for forms with parts that carry the work); "" when none.
    quality: Markup


@dataclass(frozen=True, slots=True)
class TodayView:
    time: str
    name: str
    client_url: str
    brief_url: str
    zone: str  # the zone's name, when it is not the page's own zone


class Dates:
    """Instants as the page writes them, in the page's language: babel formats each local day once."""

    def __init__(self) -> None:
        self.locale = i18n.get_locale()
        self._days: dict[date, str] = {}
        self._zones: dict[str, ZoneInfo] = {}

    def zone(self, name: str) -> ZoneInfo:
        info = self._zones.get(name)
        if info is None:
            info = self._zones[name] = ZoneInfo(name)
        return info

    def day(self, local: datetime) -> str:
        text = self._days.get(local.date())
        if text is None:
            text = self._days[local.date()] = format_datetime(local, "EEE d MMM", locale=self.locale)
        return text

    def day_and_time(self, local: datetime) -> str:
        # The pattern "EEE d MMM, HH:mm": the day, a literal ", " and two-digit hours and minutes.
        return f"{self.day(local)}, {local.hour:02d}:{local.minute:02d}"


def _data(index: int, search: str, keys: dict[SortKey, float | str | None]) -> Markup:
    attributes = [f'data-index="{index}"', f'data-search="{escape(search)}"']
    for key, value in keys.items():
        shown = "" if value is None else (escape(value) if isinstance(value, str) else f"{value:g}")
        attributes.append(f'data-sort-{key}="{shown}"')
    return Markup(" ".join(attributes))


def caseload_rows(rows: list[CaseloadRow], *, zone: str | None = None) -> list[RowView]:
    """The rows as the page prints them; times in `zone` (the therapist's) when it is known,
    else each in its own zone (a session's agreed zone, a client's for their last entry)."""
    days = Dates()
    labels: dict[str, str] = {}

    def label(message: str) -> str:
        text = labels.get(message)
        if text is None:
            text = labels[message] = i18n.gettext(message)
        return text

    none_scheduled, none_yet = i18n.gettext("none scheduled"), i18n.gettext("none yet")
    four_weeks = i18n.gettext("last 4 weeks")

    @functools.cache
    def happened(count: int) -> str:
        """A record kept as it happens: its entries in the last 7 days (no streak to show)."""
        return i18n.ngettext("%(num)s in the last 7 days", "%(num)s in the last 7 days", count)

    line_break = Markup("<br>")

    def quality(record: RecordSummary) -> str | None:
        """A line such as "4 of 6 in the moment · 3 of 5 complete"; None without entries written."""
        moment, complete = record.adherence.in_the_moment, record.adherence.complete
        if moment is None or not moment.expected:
            return None
        text = i18n.gettext("%(done)s of %(expected)s in the moment", done=moment.done, expected=moment.expected)
        if complete is not None and complete.expected:
            text += " · " + i18n.gettext(
                "%(done)s of %(expected)s complete", done=complete.done, expected=complete.expected
            )
        return f"{record.item.title}: {text}"

    views = []
    for index, row in enumerate(rows):
        client = row.client
        url = f"/t/clients/{client.id}"
        upcoming = row.next_session
        completion = row.completion
        value = completion.value
        search = fold(client.display_name)
        best = row.best_streak
        keys: dict[SortKey, float | str | None] = {
            SortKey.name: search,
            SortKey.next: upcoming.starts_at.timestamp() if upcoming else None,
            SortKey.completion: round(value, 4) if value is not None else None,
            SortKey.streak: best,
            SortKey.last: row.last_entry_at.timestamp() if row.last_entry_at else None,
            SortKey.risk: 1 if row.risk else 0,
        }
        views.append(
            RowView(
                url=url,
                name=client.display_name,
                standing=row.standing.value,
                standing_label=label(row.standing_label),
                risk=row.risk,
                next_session=none_scheduled
                if upcoming is None
                else days.day_and_time(upcoming.starts_at.astimezone(days.zone(zone or upcoming.timezone))),
                brief_url=f"{url}/brief" if upcoming is None else f"{url}/brief?session={upcoming.id}",
                since_last_session=row.last_session is not None,
                completion=""
                if value is None
                else i18n.gettext("%(done)s of %(expected)s", done=completion.done, expected=completion.expected),
                bar=round(value * 10) if value is not None else 0,
                # Markup.join escapes each line: record titles are a therapist's own words.
                streaks=line_break.join(
                    f"{record.item.title}: "
                    + (
                        happened(record.adherence.happened_7.entries)  # no streak: what happened lately
                        if record.adherence.as_it_happens
                        else f"{record.adherence.current_streak}{'+' if record.streak_at_least else ''}"
                    )
                    for record in row.records
                )
                or Markup("–"),
                last_entry=none_yet
                if row.last_entry_at is None
                else days.day(row.last_entry_at.astimezone(days.zone(zone or client.timezone))),
                delivery_ok=row.delivery.state == "ok",
                delivery_note=row.delivery.state == "silent",
                delivery=label(row.delivery.label),
                search=search,
                keys=keys,
                data=_data(index, search, keys),
                best_streak=best,
                window_label="" if row.last_session is not None else four_weeks,
                quality=line_break.join(line for line in map(quality, row.records) if line is not None),
            )
        )
    return views


def search(views: list[RowView], query: str) -> list[RowView]:
    """The rows whose name holds the query (case and accents aside), in their order."""
    wanted = fold(query)
    if not wanted:
        return views
    return [view for view in views if wanted in view.search]


def sort(views: list[RowView], order: Sort) -> list[RowView]:
    """Rows by one column, ties kept in their order (by next session, then name); rows with
    nothing to sort by (no session yet, nothing expected, no entry) go last either way."""
    present = [view for view in views if view.keys[order.key] is not None]
    missing = [view for view in views if view.keys[order.key] is None]
    present.sort(key=lambda view: view.keys[order.key], reverse=order.descending)  # type: ignore[arg-type,return-value]
    return present + missing


def today_views(sessions: list[TodaySession], *, zone: str | None) -> list[TodayView]:
    days = Dates()
    return [
        TodayView(
            time=f"{(local := item.slot.starts_at.astimezone(days.zone(item.zone))).hour:02d}:{local.minute:02d}",
            name=item.client.display_name,
            client_url=f"/t/clients/{item.client.id}",
            brief_url=f"/t/clients/{item.client.id}/brief?session={item.slot.id}",
            zone="" if zone else item.zone,
        )
        for item in sessions
    ]
