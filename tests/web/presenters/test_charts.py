"""Chart geometry (app/web/presenters/charts.py): round y ticks and the questionnaires' cut-offs, x labels
that never repeat and stay inside the chart, a day's range behind its mean, dates in the
person's locale."""

from __future__ import annotations

import itertools
import math
from datetime import date, timedelta

import pytest

from app.core import i18n
from app.services.brief import Point, Series
from app.web.presenters import charts

DAY = date(2026, 11, 24)


@pytest.fixture(autouse=True)
def _english() -> None:
    i18n.set_locale("en")
    i18n.set_regional_locale("")


def _mood(points: list[Point], low: float = 0, high: float = 10) -> Series:
    return Series(key="mood", label="Mood", low=low, high=high, points=points)


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 10, [0, 2, 4, 6, 8, 10]),
        (0, 100, [0, 20, 40, 60, 80, 100]),
        (1, 5, [1, 2, 3, 4, 5]),
        (0, 4, [0, 1, 2, 3, 4]),
        (1, 10, [2, 4, 6, 8, 10]),
        (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1]),
    ],
)
def test_value_ticks_are_round_numbers(low: float, high: float, expected: list[float]) -> None:
    assert charts.value_ticks(low, high) == expected


@pytest.mark.parametrize("high", [1, 2, 3, 4, 5, 6, 7, 9, 10, 12, 15, 20, 21, 27, 30, 50, 70, 100, 250, 1000])
def test_every_value_tick_is_a_multiple_of_1_2_or_5_times_a_power_of_ten(high: int) -> None:
    ticks = charts.value_ticks(0, high)
    step = ticks[1] - ticks[0]
    assert round(step / 10 ** math.floor(math.log10(step)), 6) in (1, 2, 5)
    assert 3 <= len(ticks) <= charts.MOST_VALUE_TICKS
    assert ticks[0] == 0 and ticks[-1] <= high
    assert all(abs(b - a - step) < 1e-9 for a, b in itertools.pairwise(ticks))


def test_questionnaire_ticks_are_the_published_cut_offs() -> None:
    phq9 = Series(key="phq9", label="PHQ-9", low=0, high=27, points=[Point(DAY, 12)], rule="phq9")
    gad7 = Series(key="gad7", label="GAD-7", low=0, high=21, points=[Point(DAY, 8)], rule="gad7")
    phq = charts.line_chart(phq9, first_day=DAY, last_day=DAY + timedelta(days=14), chart_id="p")
    gad = charts.line_chart(gad7, first_day=DAY, last_day=DAY + timedelta(days=14), chart_id="g")
    assert [tick.label for tick in phq.y_ticks] == ["0", "5", "10", "15", "20", "27"]
    assert [tick.label for tick in gad.y_ticks] == ["0", "5", "10", "15", "21"]
    # Each cut-off's grid line is the edge of its band.
    band_edges = {round(band.y + band.height, 1) for band in phq.bands}
    assert {tick.at for tick in phq.y_ticks if tick.label in ("5", "10", "15", "20")} <= band_edges


def test_no_tick_is_a_fraction_on_the_usual_scales() -> None:
    chart = charts.line_chart(_mood([Point(DAY, 5)]), first_day=DAY, last_day=DAY + timedelta(days=8), chart_id="m")
    assert [tick.label for tick in chart.y_ticks] == ["0", "2", "4", "6", "8", "10"]
    assert not any("." in tick.label for tick in chart.y_ticks)


@pytest.mark.parametrize("span", range(0, 120))
def test_day_ticks_never_repeat_and_keep_the_first_and_last_day(span: int) -> None:
    last = DAY + timedelta(days=span)
    days = charts.day_ticks(DAY, last)
    assert days == sorted(set(days))
    assert days[0] == DAY and days[-1] == last
    assert len(days) <= max(span + 1, 1) and len(days) <= charts.MOST_DAY_TICKS + 1
    if len(days) > 2:
        # Evenly spaced but for the last, which has room of its own (its label would touch).
        gaps = [(b - a).days for a, b in itertools.pairwise(days)]
        assert len(set(gaps[:-1])) == 1
        assert gaps[-1] >= 0.25 * span
    if span >= 14 and len(days) > 2:
        assert (days[1] - days[0]).days % 7 == 0  # whole weeks: the same weekday each time


def test_x_labels_hang_inside_the_chart_and_short_ranges_do_not_repeat() -> None:
    chart = charts.line_chart(
        _mood([Point(DAY, 4), Point(DAY + timedelta(days=2), 6)]),
        first_day=DAY,
        last_day=DAY + timedelta(days=2),
        chart_id="m",
    )
    assert [tick.label for tick in chart.x_ticks] == ["Nov 24", "Nov 25", "Nov 26"]
    assert [tick.anchor for tick in chart.x_ticks] == ["start", "middle", "end"]
    assert chart.x_ticks[0].at == chart.left and chart.x_ticks[-1].at == chart.left + chart.plot_width


def test_a_single_day_is_one_label_in_the_middle() -> None:
    chart = charts.line_chart(_mood([Point(DAY, 4)]), first_day=DAY, last_day=DAY, chart_id="m")
    [tick] = chart.x_ticks
    assert tick.anchor == "middle" and tick.at == chart.dots[0].x == chart.left + chart.plot_width / 2


def test_a_days_range_is_drawn_behind_its_mean() -> None:
    points = [Point(DAY, 5, 3, low=1, high=9), Point(DAY + timedelta(days=1), 6, 1, low=6, high=6)]
    chart = charts.line_chart(_mood(points), first_day=DAY, last_day=DAY + timedelta(days=1), chart_id="m")
    ranged, single = chart.dots
    assert ranged.has_range and not single.has_range and chart.has_ranges
    assert ranged.y_high is not None and ranged.y_low is not None
    assert ranged.y_high < ranged.y < ranged.y_low  # 9 above the mean of 5, 1 below it
    assert ranged.range_label == "1 to 9"
    # The description names the lowest entry, not the lowest mean.
    assert "lowest 1" in chart.desc and "highest 9" in chart.desc


@pytest.mark.parametrize(
    ("language", "regional", "short", "long"),
    [
        ("en", "en_GB", "10 Dec", "Thursday, 10 December 2026"),
        ("en", "", "Dec 10", "Thursday, December 10, 2026"),
        ("en", "en_US", "Dec 10", "Thursday, December 10, 2026"),
        ("es", "es_ES", "10 dic", "jueves, 10 de diciembre de 2026"),
        ("es", "", "10 dic", "jueves, 10 de diciembre de 2026"),
    ],
)
def test_dates_follow_the_language_and_the_browsers_region(language: str, regional: str, short: str, long: str) -> None:
    i18n.set_locale(language)
    i18n.set_regional_locale(regional)
    assert charts.short_date(date(2026, 12, 10)) == short
    assert charts.long_date(date(2026, 12, 10)) == long
