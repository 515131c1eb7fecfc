"""Geometry for server-rendered charts: inline SVG lines and calendar heatmaps, no chart library.

Templates draw these with classes only (the CSP forbids inline styles); every
chart also carries a title, a description and a data table for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from babel.dates import format_date, get_day_names

from app import i18n
from app.i18n import N_
from app.services.adherence import Day, DayState
from app.services.brief import Series

STATE_LABELS = {
    DayState.done: N_("Done"),
    DayState.nothing_to_report: N_("Nothing to report"),
    DayState.partial: N_("Partly done"),
    DayState.missed: N_("Not logged"),
    DayState.extra: N_("Done extra"),
    DayState.expected: N_("Still open today"),
    DayState.not_expected: N_("Not expected"),
    DayState.future: N_("Still to come"),
}


def state_label(state: DayState | str) -> str:
    return i18n.gettext(STATE_LABELS[DayState(state)])


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    day: date
    value: float

    @property
    def label(self) -> str:
        return _number(self.value)


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Band:
    y: float
    height: float
    label: str
    level: int


@dataclass
class LineChart:
    id: str
    title: str
    desc: str
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    points: str
    dots: list[Dot]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    bands: list[Band] = field(default_factory=list)
    unit_max: float = 10


def line_chart(
    series: Series,
    *,
    first_day: date,
    last_day: date,
    chart_id: str,
    width: int = 640,
    height: int = 220,
) -> LineChart:
    left, right, top, bottom = 40, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    span = max(1, (last_day - first_day).days)
    low, high = series.low, series.high
    scale = (high - low) or 1.0

    def x_of(day: date) -> float:
        return round(left + plot_w * (day - first_day).days / span, 1)

    def y_of(value: float) -> float:
        clamped = min(max(value, low), high)
        return round(top + plot_h * (1 - (clamped - low) / scale), 1)

    visible = [point for point in series.points if first_day <= point.day <= last_day]
    dots = [Dot(x_of(p.day), y_of(p.value), p.day, round(p.value, 1)) for p in visible]
    steps = 4 if high - low > 4 else int(high - low) or 1
    y_ticks = [Tick(y_of(low + scale * k / steps), _number(low + scale * k / steps)) for k in range(steps + 1)]
    x_ticks = []
    for k in range(5):
        day = first_day + timedelta(days=round(span * k / 4))
        x_ticks.append(Tick(x_of(day), short_date(day)))
    bands = []
    for level, (band_low, band_high, label) in enumerate(series.bands):
        top_y = y_of(min(band_high + 1, high) if band_high < high else high)
        bottom_y = y_of(band_low)
        bands.append(Band(top_y, round(bottom_y - top_y, 1), i18n.gettext(label), level))
    label = i18n.gettext(series.label)
    if dots:
        latest = dots[-1]
        desc = i18n.gettext(
            "%(label)s from %(first)s to %(last)s: %(count)s days with entries, "
            "lowest %(low)s, highest %(high)s, latest %(latest)s.",
            label=label,
            first=first_day.isoformat(),
            last=last_day.isoformat(),
            count=len(dots),
            low=_number(min(d.value for d in dots)),
            high=_number(max(d.value for d in dots)),
            latest=_number(latest.value),
        )
    else:
        desc = i18n.gettext("%(label)s: no entries in this period.", label=label)
    return LineChart(
        id=chart_id,
        title=label,
        desc=desc,
        width=width,
        height=height,
        left=left,
        top=top,
        plot_width=plot_w,
        plot_height=plot_h,
        points=" ".join(f"{d.x},{d.y}" for d in dots),
        dots=dots,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        bands=bands,
        unit_max=high,
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


@dataclass(frozen=True)
class Cell:
    day: date
    state: str
    count: int
    in_range: bool

    @property
    def label(self) -> str:
        return state_label(self.state)


def calendar(days: list[Day], *, first_day: date, last_day: date) -> list[list[Cell | None]]:
    """Monday-first weeks covering [first_day, last_day]; days outside it are None."""
    by_day = {item.day: item for item in days}
    start = first_day - timedelta(days=first_day.isoweekday() - 1)
    end = last_day + timedelta(days=7 - last_day.isoweekday())
    weeks: list[list[Cell | None]] = []
    day = start
    while day <= end:
        week: list[Cell | None] = []
        for _ in range(7):
            if first_day <= day <= last_day:
                item = by_day.get(day)
                state = item.state if item is not None else DayState.not_expected
                week.append(Cell(day, str(state), item.count if item else 0, True))
            else:
                week.append(None)
            day += timedelta(days=1)
        weeks.append(week)
    return weeks


def weekday_names() -> list[str]:
    names = get_day_names("abbreviated", locale=i18n.get_locale())
    return [names[index] for index in range(7)]


def short_date(day: date) -> str:
    return format_date(day, "MMM d", locale=i18n.get_locale())


def long_date(day: date) -> str:
    return format_date(day, "EEEE d MMMM", locale=i18n.get_locale())
