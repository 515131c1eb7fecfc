"""My patterns in words and small charts: a plain sentence first, what it rests on, then a chart
with a table for screen readers. Never a score for the person: averages of their own ratings,
with how many entries are behind them and how sure one can be.

Charts are inline SVG drawn with classes only (strict CSP), like app/web/presenters/charts.py,
whose line chart draws the sleep trend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from babel.dates import get_day_names

from app.core import i18n
from app.core.i18n import N_
from app.models import InsightPublic, InsightsPublic
from app.services import patterns
from app.services.brief import Point, Series
from app.services.patterns import Group, Patterns, Section, Tally
from app.web.presenters import charts
from app.web.presenters.pattern_charts import bar_chart, range_chart
from app.web.presenters.pattern_charts import number as _number


@dataclass
class Card:
    section: str
    title: str
    ready: bool
    have: int
    needs: int
    waiting: str = ""  # below the minimum: how many more entries before anything is said
    sentences: list[str] = field(default_factory=list)
    caution: str = ""
    charts: list[Any] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "title": self.title,
            "ready": self.ready,
            "have": self.have,
            "needs": self.needs,
            "waiting": self.waiting,
            "sentences": self.sentences,
            "caution": self.caution,
        }


def cards(data: Patterns, *, prefix: str = "pattern") -> list[Card]:
    makers: dict[Section, Callable[[Any, str], Card]] = {
        Section.mood_times: _mood_times,
        Section.mood_context: _mood_context,
        Section.beliefs: _beliefs,
        Section.exposures: _exposures,
        Section.sleep: _sleep,
        Section.urges: _urges,
    }
    return [makers[section](data.of(section), f"{prefix}-{section.value}") for section in data.shown]


def figures(data: Patterns) -> dict[str, Any]:
    """The numbers behind each shown section, for the API."""
    result: dict[str, Any] = {}
    for section in data.shown:
        found = data.of(section)
        if section is Section.mood_times:
            result[section.value] = {
                "entries": found.entries,
                "times_of_day": [_group_json(group) for group in found.times],
                "weekdays": [{**_group_json(group), "weekday": int(group.key)} for group in found.weekdays],
            }
        elif section is Section.mood_context:
            result[section.value] = {
                "entries": found.entries,
                "lowest": [_tally_json(item) for item in found.low],
                "highest": [_tally_json(item) for item in found.high],
                "averages": [_group_json(group) for group in found.averages],
            }
        elif section is Section.beliefs:
            result[section.value] = {
                "records": [{"day": p.day.isoformat(), "before": p.first, "after": p.second} for p in found.records],
                "thinking_traps": [_tally_json(item) for item in found.traps],
            }
        elif section is Section.exposures:
            result[section.value] = {
                "exposures": [
                    {"day": p.day.isoformat(), "before": p.start, "peak": p.first, "end": p.second}
                    for p in found.records
                ]
            }
        elif section is Section.sleep:
            result[section.value] = {
                "nights": [{"day": n.day.isoformat(), "efficiency": n.efficiency} for n in found.nights]
            }
        else:
            result[section.value] = {"entries": found.entries, "acted_on": found.acted, "rode_out": found.rode_out}
    return result


def public(data: Patterns) -> InsightsPublic:
    """The API's answer: each shown section in words, with the numbers behind it."""
    found = figures(data)
    return InsightsPublic(
        since=data.since,
        as_of=data.as_of,
        sections=[InsightPublic(**card.as_json(), figures=found[card.section]) for card in cards(data)],
    )


def _group_json(group: Group) -> dict[str, Any]:
    return {"key": group.key, "label": _group_label(group), "entries": group.count, "average_mood": group.mean}


def _tally_json(item: Tally) -> dict[str, Any]:
    return {"key": item.key, "label": item.text, "count": item.count, "of": item.of}


def section_title(section: Section) -> str:
    return i18n.gettext(patterns.SECTION_TITLES[section])


def _card(section: Section, *, ready: bool, have: int, needs: int, waiting: str) -> Card:
    return Card(
        section=section.value,
        title=section_title(section),
        ready=ready,
        have=have,
        needs=needs,
        waiting="" if ready else waiting + " " + _so_far(have),
    )


def _so_far(have: int) -> str:
    if not have:
        return i18n.gettext("None yet: whenever you are ready.")
    return i18n.ngettext("You have %(num)s so far.", "You have %(num)s so far.", have)


def _early(count: int) -> str:
    """How sure one can be: a few weeks of entries is an early picture."""
    return i18n.ngettext(
        "Based on %(num)s entry. This is what your entries show so far, not a rule: it can change as you write more.",
        "Based on %(num)s entries. This is what your entries show so far, not a rule: it can change as you write more.",
        count,
    )


def _mood_times(found: patterns.MoodTimes, chart_id: str) -> Card:
    card = _card(
        Section.mood_times,
        ready=found.times_ready,
        have=found.entries,
        needs=patterns.MIN_MOOD_TIMES,
        waiting=i18n.gettext(
            "After %(num)s mood entries at different times of day we can show your pattern.",
            num=patterns.MIN_MOOD_TIMES,
        ),
    )
    if not card.ready:
        if found.entries >= patterns.MIN_MOOD_TIMES:
            card.waiting = i18n.gettext(
                "Your mood entries so far are mostly from one time of day, so there is nothing to compare yet. "
                "A few at other times would show whether your mood changes over the day."
            )
        return card
    lows, highs = found.extremes(found.times)
    low, high = lows[0], highs[0]
    if low.mean == high.mean:
        card.sentences.append(
            i18n.gettext(
                "Your average mood was much the same at each time of day you wrote (%(mean)s of 10).",
                mean=_number(low.mean),
            )
        )
    elif len(lows) == 1 and len(highs) == 1:
        card.sentences.append(
            i18n.gettext(
                "Your mood tended to be highest %(high)s (on average %(high_mean)s of 10) "
                "and lowest %(low)s (%(low_mean)s of 10).",
                high=_part_of_day(high),
                high_mean=_number(high.mean),
                low=_part_of_day(low),
                low_mean=_number(low.mean),
            )
        )
    else:  # a tie: every part of the day at each end, named in the day's order
        card.sentences.append(_ranged(lows, highs))
    small = [high.mean - low.mean < patterns.SMALL_MOOD_DIFFERENCE]
    if found.weekdays_ready:
        lows, highs = found.extremes(found.weekdays)
        small.append(highs[0].mean - lows[0].mean < patterns.SMALL_MOOD_DIFFERENCE)
        if lows[0].mean == highs[0].mean:
            card.sentences.append(
                i18n.gettext(
                    "Across the week, your average mood was much the same from day to day (%(mean)s).",
                    mean=_number(lows[0].mean),
                )
            )
        elif len(lows) == 1 and len(highs) == 1:
            card.sentences.append(
                i18n.gettext(
                    "Across the week, %(high)s was your best day on average (%(high_mean)s) and %(low)s "
                    "the hardest (%(low_mean)s).",
                    high=_group_label(highs[0]),
                    high_mean=_number(highs[0].mean),
                    low=_group_label(lows[0]),
                    low_mean=_number(lows[0].mean),
                )
            )
        else:
            card.sentences.append(_ranged(lows, highs))
    else:
        card.sentences.append(
            i18n.gettext(
                "After %(num)s mood entries spread over the week we can compare weekdays too.",
                num=patterns.MIN_MOOD_WEEKDAYS,
            )
        )
    card.caution = _early(found.entries)
    if all(small):
        card.caution += " " + i18n.gettext("The differences are small, so they may be chance.")
    elif any(small):
        card.caution += " " + i18n.gettext("Some of the differences are small, so they may be chance.")
    value = i18n.gettext("Average mood (0–10)")
    card.charts.append(
        bar_chart(
            [(_group_label(group), group.mean, group.count) for group in found.times],
            top=10,
            chart_id=f"{chart_id}-times",
            title=i18n.gettext("Average mood by time of day"),
            value_label=value,
        )
    )
    if found.weekdays_ready:
        card.charts.append(
            bar_chart(
                [(_group_label(group), group.mean, group.count) for group in found.weekdays],
                top=10,
                chart_id=f"{chart_id}-weekdays",
                title=i18n.gettext("Average mood by weekday"),
                value_label=value,
            )
        )
    return card


def _mood_context(found: patterns.MoodContext, chart_id: str) -> Card:
    card = _card(
        Section.mood_context,
        ready=found.ready,
        have=found.entries,
        needs=patterns.MIN_CONTEXT,
        waiting=i18n.gettext(
            "After %(num)s mood entries where you ticked what you were doing (or added a #tag), "
            "we can show what tends to go with your lows and highs.",
            num=patterns.MIN_CONTEXT,
        ),
    )
    if not card.ready:
        return card
    if found.steady:
        card.sentences.append(
            i18n.gettext("Your mood has been fairly steady, so there are no lows and highs to compare.")
        )
        return card
    if found.low:
        card.sentences.append(
            i18n.gettext(
                "When your mood was at its lowest (%(cut)s of 10 or below), you were most often: %(list)s.",
                cut=_number(found.low_cut),
                list=_tallies(found.low),
            )
        )
    if found.high:
        card.sentences.append(
            i18n.gettext(
                "When it was at its highest (%(cut)s or above): %(list)s.",
                cut=_number(found.high_cut),
                list=_tallies(found.high),
            )
        )
    if not (found.low or found.high):
        card.sentences.append(i18n.gettext("Nothing came up often enough around your lows or highs to say more yet."))
    card.caution = (
        _early(found.entries) + " " + i18n.gettext("Going together is not the same as one causing the other.")
    )
    if found.averages:
        card.charts.append(
            bar_chart(
                [(group.text, group.mean, group.count) for group in found.averages],
                top=10,
                chart_id=f"{chart_id}-averages",
                title=i18n.gettext("Average mood with each activity or tag"),
                value_label=i18n.gettext("Average mood (0–10)"),
            )
        )
    return card


def _ranged(lows: list[Group], highs: list[Group]) -> str:
    return i18n.gettext(
        "Your average mood ranged from %(low_mean)s (%(low)s) to %(high_mean)s (%(high)s).",
        low_mean=_number(lows[0].mean),
        low=", ".join(_group_label(group) for group in lows),
        high_mean=_number(highs[0].mean),
        high=", ".join(_group_label(group) for group in highs),
    )


def _tallies(items: list[Tally]) -> str:
    return ", ".join(
        i18n.gettext("%(label)s (%(count)s of %(of)s times)", label=item.text, count=item.count, of=item.of)
        for item in items
    )


def _beliefs(found: patterns.Beliefs, chart_id: str) -> Card:
    card = _card(
        Section.beliefs,
        ready=found.ready,
        have=found.entries,
        needs=patterns.MIN_BELIEFS,
        waiting=i18n.gettext(
            "After %(num)s thought records with how much you believed the thought, before and after "
            "the balanced thought, we can show how your belief changes.",
            num=patterns.MIN_BELIEFS,
        ),
    )
    if card.ready:
        card.sentences.append(
            i18n.gettext(
                "Across %(num)s thought records, your belief in the first thought went from %(before)s %% "
                "on average to %(after)s %% after the balanced thought.",
                num=found.entries,
                before=_whole(found.mean_before),
                after=_whole(found.mean_after),
            )
        )
        card.sentences.append(
            i18n.ngettext(
                "It went down in %(num)s of %(of)s.",
                "It went down in %(num)s of %(of)s.",
                found.went_down,
                of=found.entries,
            )
        )
        card.caution = _early(found.entries)
        card.charts.append(
            range_chart(
                found.records[-12:],
                chart_id=f"{chart_id}-chart",
                title=i18n.gettext("Belief in the thought, before and after (0–100 %)"),
                first_label=i18n.gettext("Before"),
                second_label=i18n.gettext("After"),
            )
        )
    if found.traps_ready:
        card.sentences.append(
            i18n.gettext("The thinking traps you noticed most: %(list)s.", list=_tallies(found.traps))
        )
    return card


def _exposures(found: patterns.Exposures, chart_id: str) -> Card:
    card = _card(
        Section.exposures,
        ready=found.ready,
        have=found.entries,
        needs=patterns.MIN_EXPOSURES,
        waiting=i18n.gettext(
            "After %(num)s exposures with your distress at its highest and at the end, we can show your fear curves.",
            num=patterns.MIN_EXPOSURES,
        ),
    )
    if not card.ready:
        return card
    card.sentences.append(
        i18n.gettext(
            "Across %(num)s exposures, your distress peaked at %(peak)s on average and was %(end)s by the end: "
            "it came down in %(down)s of them.",
            num=found.entries,
            peak=_whole(found.mean_peak),
            end=_whole(found.mean_end),
            down=found.came_down,
        )
    )
    change = found.peak_change
    if change is not None:
        card.sentences.append(
            i18n.gettext(
                "Your peak distress was %(first)s on average in your first three exposures and %(latest)s "
                "in your latest three.",
                first=_whole(change[0]),
                latest=_whole(change[1]),
            )
        )
    card.caution = _early(found.entries)
    card.charts.append(
        range_chart(
            found.records[-12:],
            chart_id=f"{chart_id}-chart",
            title=i18n.gettext("Distress in each exposure, at its highest and at the end (0–100)"),
            first_label=i18n.gettext("Highest"),
            second_label=i18n.gettext("At the end"),
            start_label=i18n.gettext("Before"),
        )
    )
    return card


def _sleep(found: patterns.Sleep, chart_id: str) -> Card:
    card = _card(
        Section.sleep,
        ready=found.ready,
        have=found.entries,
        needs=patterns.MIN_SLEEP,
        waiting=i18n.gettext(
            "After %(num)s nights in your sleep diary we can show how much of your time in bed you sleep.",
            num=patterns.MIN_SLEEP,
        ),
    )
    if not card.ready:
        return card
    card.sentences.append(
        i18n.gettext(
            "Over your latest 7 nights, you slept about %(latest)s %% of the time you spent in bed.",
            latest=_whole(found.latest),
        )
    )
    before = found.before
    if before is not None:
        card.sentences.append(
            i18n.gettext("In the 7 nights before, it was about %(before)s %%.", before=_whole(before))
        )
    card.caution = (
        i18n.gettext("An estimate from the times you wrote down: rough guesses are fine.") + " " + _early(found.entries)
    )
    by_day: dict[date, list[int]] = {}
    for night in found.nights:
        by_day.setdefault(night.day, []).append(night.efficiency)
    series = Series(
        key="sleep-efficiency",
        label=N_("Sleep efficiency (%)"),
        low=0,
        high=100,
        points=[Point(day, round(sum(values) / len(values), 1), len(values)) for day, values in sorted(by_day.items())],
    )
    card.charts.append(
        charts.line_chart(series, first_day=series.points[0].day, last_day=series.points[-1].day, chart_id=chart_id)
    )
    return card


def _urges(found: patterns.Urges, chart_id: str) -> Card:
    card = _card(
        Section.urges,
        ready=found.ready,
        have=found.entries,
        needs=patterns.MIN_URGES,
        waiting=i18n.gettext(
            "After %(num)s urge logs saying whether you acted on the urge, we can show how often you rode one out.",
            num=patterns.MIN_URGES,
        ),
    )
    if not card.ready:
        return card
    card.sentences.append(
        i18n.gettext(
            "Of %(num)s urges you logged, you rode out %(rode)s and acted on %(acted)s.",
            num=found.entries,
            rode=found.rode_out,
            acted=found.acted,
        )
    )
    latest = min(found.entries, patterns.LATEST_URGES)
    card.sentences.append(
        i18n.gettext(
            "In your latest %(latest)s, you rode out %(rode)s. "
            "Every urge logged, acted on or not, is useful to look at.",
            latest=latest,
            rode=found.latest_rode_out,
        )
    )
    card.caution = _early(found.entries)
    card.charts.append(
        bar_chart(
            [
                (i18n.gettext("Rode out"), found.rode_out, found.rode_out),
                (i18n.gettext("Acted on"), found.acted, found.acted),
            ],
            top=max(found.entries, 1),
            chart_id=f"{chart_id}-chart",
            title=i18n.gettext("Urges ridden out and acted on"),
            value_label=i18n.gettext("Urges"),
            counts=False,
        )
    )
    return card


def _group_label(group: Group) -> str:
    if group.label:
        return group.text
    names = get_day_names("wide", locale=i18n.format_locale())
    return str(names[int(group.key)])


def _part_of_day(group: Group) -> str:
    return i18n.gettext(_PARTS[group.key]) if group.key in _PARTS else group.text


# The part of the day inside a sentence ("highest in the evening"), without its hours.
_PARTS = {
    "night": N_("at night"),
    "morning": N_("in the morning"),
    "afternoon": N_("in the afternoon"),
    "evening": N_("in the evening"),
}


def _whole(value: float) -> str:
    """A percentage or a 0–100 rating "about" so much: whole numbers, no false precision."""
    return str(round(value))
