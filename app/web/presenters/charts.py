"""Geometry for server-rendered charts: inline SVG lines and calendar heatmaps, no chart library.

Templates draw these with classes only (the CSP forbids inline styles); every
chart also carries a title, a description and a data table for screen readers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from babel.dates import format_date, format_skeleton, get_day_names

from app.core import i18n
from app.core.i18n import N_
from app.services.adherence.rules import Day, DayState
from app.services.brief import Series
from app.web.presenters.timewords import when

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


# A line chart is drawn in a 640-unit-wide box that a phone shows at about half size; its
# labels are larger there (insights.css), so ticks are spaced for labels of that size.
LABEL_UNITS = 24  # the largest label font, in the chart's units (on a phone)
MOST_DAY_TICKS = 4
MOST_VALUE_TICKS = 6


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    day: date
    value: float
    # The day's lowest and highest entry (a whisker), when there were several and they differ.
    low: float | None = None
    high: float | None = None
    y_low: float | None = None
    y_high: float | None = None

    @property
    def label(self) -> str:
        return _number(self.value)

    @property
    def has_range(self) -> bool:
        return self.low is not None and self.high is not None and self.low < self.high

    @property
    def range_label(self) -> str:
        if not self.has_range:
            return ""
        return i18n.gettext("%(low)s to %(high)s", low=_number(self.low or 0), high=_number(self.high or 0))

    @property
    def day_label(self) -> str:
        return long_date(self.day)


@dataclass(frozen=True)
class Tick:
    at: float
    label: str
    # Where the label hangs from its tick: the first and last x labels stay inside the chart.
    anchor: str = "middle"


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

    @property
    def has_ranges(self) -> bool:
        return any(dot.has_range for dot in self.dots)


def nice_step(span: float, most_steps: int) -> float:
    """The smallest of 1, 2 or 5 times a power of ten that cuts `span` into at most `most_steps` steps."""
    if span <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(span / most_steps))
    for factor in (1, 2, 5, 10):
        step = factor * power
        if span / step <= most_steps + 1e-9:
            return step
    return 10 * power  # pragma: no cover - the loop always returns


def value_ticks(
    low: float, high: float, *, cutoffs: tuple[float, ...] = (), most: int = MOST_VALUE_TICKS
) -> list[float]:
    """Values to label on a y axis from `low` to `high`: round numbers, or a questionnaire's
    published cut-offs (PHQ-9: 5, 10, 15, 20) with the scale's ends."""
    if high <= low:
        return [low]
    if cutoffs:
        inner = sorted({c for c in cutoffs if low < c < high})
        return [low, *inner, high]
    step = nice_step(high - low, most - 1)
    first = math.ceil(low / step - 1e-9)
    ticks = []
    k = first
    while k * step <= high + 1e-9:
        ticks.append(_tidy(k * step))
        k += 1
    # A scale's end that is not itself round (1 on a 1-10 scale) is labelled when it has room.
    if ticks and ticks[0] - low >= 0.75 * step:
        ticks.insert(0, low)
    if ticks and high - ticks[-1] >= 0.75 * step:
        ticks.append(high)
    return ticks


def day_ticks(first_day: date, last_day: date, *, most: int = MOST_DAY_TICKS, room: float = 0.25) -> list[date]:
    """Days to label on an x axis: never the same day twice, the first and the last day
    always, evenly spaced in between (whole weeks on spans of two weeks or more). The last
    day gets its own label when it is at least `room` of the span after the one before it
    (so that the two labels do not touch); otherwise it takes that one's place."""
    span = (last_day - first_day).days
    if span <= 0:
        return [first_day]
    if span <= most:
        return [first_day + timedelta(days=k) for k in range(span + 1)]
    unit = 7 if span >= 14 else 1
    step = unit
    while span // step + 1 > most:
        step += unit
    days = [first_day + timedelta(days=k) for k in range(0, span + 1, step)]
    if days[-1] != last_day:
        if (last_day - days[-1]).days >= room * span:
            days.append(last_day)
        else:
            days[-1] = last_day
    return days


def line_chart(
    series: Series,
    *,
    first_day: date,
    last_day: date,
    chart_id: str,
    width: int = 640,
    height: int = 240,
) -> LineChart:
    # Room for labels at the phone's size: three digits on the left, a line below.
    left, right, top, bottom = 56, 8, 14, LABEL_UNITS + 16
    plot_w, plot_h = width - left - right, height - top - bottom
    span = (last_day - first_day).days
    low, high = series.low, series.high
    scale = (high - low) or 1.0

    def x_of(day: date) -> float:
        if span <= 0:
            return round(left + plot_w / 2, 1)
        return round(left + plot_w * (day - first_day).days / span, 1)

    def y_of(value: float) -> float:
        clamped = min(max(value, low), high)
        return round(top + plot_h * (1 - (clamped - low) / scale), 1)

    visible = [point for point in series.points if first_day <= point.day <= last_day]
    dots = []
    for p in visible:
        ranged = p.count > 1 and p.low is not None and p.high is not None and p.low < p.high
        dots.append(
            Dot(
                x_of(p.day),
                y_of(p.value),
                p.day,
                round(p.value, 1),
                low=p.low if ranged else None,
                high=p.high if ranged else None,
                y_low=y_of(p.low) if ranged and p.low is not None else None,
                y_high=y_of(p.high) if ranged and p.high is not None else None,
            )
        )
    cutoffs = tuple(float(band_low) for band_low, _band_high, _label in series.bands)
    y_ticks = [Tick(y_of(value), _number(value)) for value in value_ticks(low, high, cutoffs=cutoffs)]
    days = day_ticks(first_day, last_day)
    x_ticks = []
    for index, day in enumerate(days):
        anchor = "middle"
        if len(days) > 1 and index == 0:
            anchor = "start"
        elif len(days) > 1 and index == len(days) - 1:
            anchor = "end"
        x_ticks.append(Tick(x_of(day), short_date(day), anchor))
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
            first=long_date(first_day),
            last=long_date(last_day),
            count=len(dots),
            low=_number(min(d.low if d.low is not None else d.value for d in dots)),
            high=_number(max(d.high if d.high is not None else d.value for d in dots)),
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


def _tidy(value: float) -> float:
    """0.30000000000000004 -> 0.3: tick values are multiples of a step."""
    return round(value, 6)


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
    names = get_day_names("abbreviated", locale=i18n.format_locale())
    return [names[index] for index in range(7)]


def short_date(day: date) -> str:
    """Day and month in the person's order: "10 Dec" (en-GB), "Dec 10" (en-US), "10 dic" (es)."""
    return format_skeleton("MMMd", day, locale=i18n.format_locale())


def long_date(day: date) -> str:
    """The whole date: "Thursday, 10 December 2026" (en-GB), "jueves, 10 de diciembre de 2026" (es)."""
    return format_date(day, "full", locale=i18n.format_locale())


def page_helpers() -> dict[str, Any]:
    return {
        "when": when,
        "state_label": state_label,
        "short_date": short_date,
        "long_date": long_date,
        "weekday_names_short": weekday_names(),
    }
