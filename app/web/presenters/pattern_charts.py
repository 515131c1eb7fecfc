"""The small charts of My patterns: horizontal bars (an average per part of the day, weekday or
activity; urges ridden out and acted on) and ranges (one column per entry, from the first rating
to the second: belief before and after, distress at the peak and at the end).

Geometry only, drawn by app/templates/_patterns.html with classes (strict CSP), each chart with a
title, a description and a table for screen readers, like app/web/presenters/charts.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.core import i18n
from app.services.patterns import Pair
from app.web.presenters import charts

WIDTH = 640
# A row of a bar chart: its label on a line of its own (long labels, Spanish), then the bar.
ROW = 70
VALUE_ROOM = 90


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    count: int
    y: float
    width: float

    @property
    def value_label(self) -> str:
        return number(self.value)


@dataclass
class BarChart:
    id: str
    title: str
    desc: str
    value_label: str  # the table's column: what the bar measures
    bars: list[Bar]
    height: int
    width: int = WIDTH
    kind: str = "bars"


@dataclass(frozen=True)
class Span:
    """One entry of a range chart: from the first rating down (or up) to the second."""

    x: float
    y_first: float
    y_second: float
    y_start: float | None
    day: date
    first: int
    second: int
    start: int | None

    @property
    def day_label(self) -> str:
        return charts.long_date(self.day)


@dataclass
class RangeChart:
    id: str
    title: str
    desc: str
    first_label: str
    second_label: str
    start_label: str
    spans: list[Span]
    y_ticks: list[charts.Tick]
    left: int
    top: int
    plot_width: int
    plot_height: int
    width: int = WIDTH
    height: int = 240
    kind: str = "ranges"

    @property
    def has_start(self) -> bool:
        return any(span.start is not None for span in self.spans)


def bar_chart(
    rows: list[tuple[str, float, int]],
    *,
    top: float,
    chart_id: str,
    title: str,
    value_label: str,
    counts: bool = True,
) -> BarChart:
    """Horizontal bars from 0 to `top`, each under its label (with how many entries it rests on)."""
    bars = []
    plot = WIDTH - VALUE_ROOM
    for index, (label, value, count) in enumerate(rows):
        shown = (
            i18n.ngettext("%(label)s · %(num)s entry", "%(label)s · %(num)s entries", count, label=label)
            if counts
            else label
        )
        width = round(plot * max(0.0, min(value, top)) / top, 1) if top else 0
        bars.append(Bar(shown, value, count, index * ROW, width))
    desc = "; ".join(f"{bar.label}: {bar.value_label}" for bar in bars)
    return BarChart(
        id=chart_id,
        title=title,
        desc=desc,
        value_label=value_label,
        bars=bars,
        height=max(ROW * len(bars), ROW),
    )


def range_chart(
    pairs: list[Pair],
    *,
    chart_id: str,
    title: str,
    first_label: str,
    second_label: str,
    start_label: str = "",
) -> RangeChart:
    """One column per entry, oldest on the left: a line from the first rating to the second."""
    left, right, top, bottom = 56, 16, 14, 20
    width, height = WIDTH, 240
    plot_w, plot_h = width - left - right, height - top - bottom

    def y_of(value: float) -> float:
        return round(top + plot_h * (1 - min(max(value, 0), 100) / 100), 1)

    step = plot_w / max(len(pairs), 1)
    spans = [
        Span(
            x=round(left + step * (index + 0.5), 1),
            y_first=y_of(pair.first),
            y_second=y_of(pair.second),
            y_start=None if pair.start is None else y_of(pair.start),
            day=pair.day,
            first=pair.first,
            second=pair.second,
            start=pair.start,
        )
        for index, pair in enumerate(pairs)
    ]
    desc = i18n.ngettext(
        "%(num)s entry, oldest first: %(list)s.",
        "%(num)s entries, oldest first: %(list)s.",
        len(spans),
        list="; ".join(f"{span.first} → {span.second}" for span in spans),
    )
    return RangeChart(
        id=chart_id,
        title=title,
        desc=desc,
        first_label=first_label,
        second_label=second_label,
        start_label=start_label,
        spans=spans,
        y_ticks=[charts.Tick(y_of(value), str(value)) for value in (0, 25, 50, 75, 100)],
        left=left,
        top=top,
        plot_width=plot_w,
        plot_height=plot_h,
        width=width,
        height=height,
    )


def number(value: float) -> str:
    """A mean in the page's language: 4.3 in English, 4,3 in Spanish; whole numbers bare."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if i18n.get_locale() == "es" else text
