"""How often a record is asked for, in one place: the choices a therapist picks from, the
entries a day asks for, when a reminder stays quiet and why, and the same in plain words.

The assign form (and the form that edits an assignment) lists `CHOICES`; the dispatcher
asks `quiet_reason` before sending a reminder; the client's Today page asks
`entries_asked`; both count the entries of `counted_days` (a weekly record's whole week);
the reminder pages say `reminder_rule` and `quiet_sentence`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.core import i18n
from app.core.errors import Invalid
from app.core.i18n import N_
from app.models import Frequency
from app.services.adherence.rules import due_weekday, week_of


@dataclass(frozen=True)
class FrequencyChoice:
    value: Frequency
    label: str  # msgid
    help: str  # msgid: what it asks of the client, and what its reminders do

    @property
    def label_text(self) -> str:
        return i18n.gettext(self.label)

    @property
    def help_text(self) -> str:
        return i18n.gettext(self.help)


CHOICES: tuple[FrequencyChoice, ...] = (
    FrequencyChoice(
        Frequency.daily,
        N_("Every day"),
        N_("One entry a day. Once today's entry is done, the day's other reminders stay quiet."),
    ),
    FrequencyChoice(
        Frequency.times_per_day,
        N_("Several times a day"),
        N_(
            "The number of entries a day set below. Each reminder asks for one entry until that many are done that day."
        ),
    ),
    FrequencyChoice(
        Frequency.weekdays,
        N_("On chosen weekdays"),
        N_("One entry on each chosen day. Entries on other days count as done extra, never against the client."),
    ),
    FrequencyChoice(Frequency.weekly, N_("Once a week"), N_("One entry a week.")),
    FrequencyChoice(
        Frequency.as_it_happens,
        N_("When it happens"),
        N_(
            "For records that follow events (a difficult moment, an urge). Every entry counts and no day is "
            "ever missed. Reminders are optional check-ins."
        ),
    ),
)
BY_VALUE: dict[Frequency, FrequencyChoice] = {choice.value: choice for choice in CHOICES}


def parse(value: str | None) -> Frequency | None:
    """A frequency from a form or a query ("" or None: not chosen). Raises ValueError."""
    if value is None or not value.strip():
        return None
    return Frequency(value.strip())


def check(value: Frequency | str, *, times_per_day: int) -> None:
    """Frequency and entries a day must agree: "several times a day" asks for two or more."""
    if Frequency(value) is Frequency.times_per_day and int(times_per_day) < 2:
        raise Invalid(
            i18n.gettext("“Several times a day” means 2 or more entries a day. For one a day, choose “Every day”."),
            errors={"times_per_day": i18n.gettext("Enter 2 or more.")},
        )


def default_for(template: Any) -> Frequency:
    """The frequency a record type is assigned with unless the therapist chooses another:
    "when it happens" for library records that follow events, every day otherwise."""
    from app.library import BY_SLUG

    slug = getattr(template, "slug", None)
    library = BY_SLUG.get(slug) if slug else None
    if library is not None and library.follows_events:
        return Frequency.as_it_happens
    return Frequency.daily


def usual_help() -> str:
    """What "usual for this record type" means, naming the library records that follow events."""
    from app.library import TEMPLATES

    titles = [i18n.gettext(template.title) for template in TEMPLATES if template.follows_events]
    return i18n.gettext("“When it happens” for %(records)s; “every day” for the others.", records=", ".join(titles))


# -- what a day asks for, and when a reminder stays quiet --------------------------------------

# Why a reminder stayed quiet (kept in `ReminderOccurrence.last_error` of a suppressed one).
QUIET_DONE = "done"  # the entries that day asks for were already there
QUIET_NOT_DUE = "not_due"  # the record is not set for that day
QUIET_LOGGED = "logged"  # kept as it happens: something was already written that day
QUIET_WEEK_DONE = "week_done"  # a weekly record: that week's entry was already there


def counted_days(
    frequency: Frequency | str, *, weekdays: Sequence[int], day: date, first_day: date
) -> tuple[date, date]:
    """The days (first, last) whose entries count toward what `day` asks for: the day itself,
    or a weekly record's whole week, as the adherence engine counts it (`rules.week_of`).
    `first_day`: the record's first local day."""
    if Frequency(frequency) is Frequency.weekly:
        return week_of(day, first_day=first_day, due_weekday=due_weekday(frequency, weekdays))
    return day, day


def entries_asked(frequency: Frequency | str, *, times_per_day: int, weekdays: Sequence[int], day: date) -> int:
    """How many entries the record asks for on `day` (0: none, as on a day it is not set for,
    or for a record kept as it happens)."""
    frequency = Frequency(frequency)
    if frequency is Frequency.as_it_happens:
        return 0
    if frequency is Frequency.weekdays and day.isoweekday() not in (weekdays or ()):
        return 0
    if frequency is Frequency.times_per_day:
        return max(1, int(times_per_day or 1))
    return 1


def quiet_reason(
    frequency: Frequency | str, *, times_per_day: int, weekdays: Sequence[int], day: date, entries: int
) -> str | None:
    """Why a reminder due on `day` stays quiet, given the record's entries over `counted_days`
    (that day; a weekly record's week); None: it is sent.

    Expected per day: with two entries a day asked for and one done, the next reminder is
    sent; a reminder of a record kept as it happens is a check-in, quiet once something was
    written that day; a weekly record's reminders are quiet for the rest of a week once done."""
    frequency = Frequency(frequency)
    if frequency is Frequency.as_it_happens:
        return QUIET_LOGGED if entries > 0 else None
    asked = entries_asked(frequency, times_per_day=times_per_day, weekdays=weekdays, day=day)
    if asked == 0:
        return QUIET_NOT_DUE
    if entries < asked:
        return None
    return QUIET_WEEK_DONE if frequency is Frequency.weekly else QUIET_DONE


# -- in plain words ----------------------------------------------------------------------------


def reminder_rule(assignment: Any, *, title: str, times: Sequence[str] = ()) -> str:
    """What a reminder of this record does when the record is already done, in plain words."""
    frequency = Frequency(assignment.frequency)
    if frequency is Frequency.as_it_happens:
        return i18n.gettext(
            "Reminders for %(record)s are gentle check-ins: if something was already written that day, "
            "they stay quiet.",
            record=title,
        )
    if frequency is Frequency.times_per_day:
        count = max(1, int(assignment.times_per_day or 1))
        return i18n.ngettext(
            "Each reminder asks for one entry: %(num)s a day. Once %(num)s is done that day, the rest stay quiet.",
            "Each reminder asks for one entry: %(num)s a day. Once %(num)s are done that day, the rest stay quiet.",
            count,
        )
    if frequency is Frequency.weekdays:
        names = dict(_weekday_names())
        days = ", ".join(names[day] for day in sorted(assignment.weekdays or ()) if day in names)
        return i18n.gettext(
            "%(record)s is asked for on %(days)s. If that day's entry is already done, a reminder stays quiet; "
            "on other days it stays quiet too.",
            record=title,
            days=days,
        )
    if frequency is Frequency.weekly:
        due = due_weekday(frequency, assignment.weekdays or ())
        if due is not None:
            return i18n.gettext(
                "%(record)s is once a week, in the week that ends on %(day)s. Once that week's is done, "
                "this reminder stays quiet until the next week.",
                record=title,
                day=wide_day_names()[due - 1],
            )
        return i18n.gettext(
            "%(record)s is once a week. Once that week's is done, this reminder stays quiet until the next week.",
            record=title,
        )
    if len(times) > 1:
        return i18n.gettext(
            "One entry a day: once today's %(record)s is done, the day's later reminders stay quiet. "
            "For an entry at each reminder, choose “Several times a day”.",
            record=title,
        )
    return i18n.gettext("If today's %(record)s is already done, this reminder stays quiet.", record=title)


def quiet_sentence(reason: str | None, *, time: str, day: str, today: bool) -> str:
    """Why one reminder stayed quiet, for the client's reminder page."""
    if reason == QUIET_NOT_DUE:
        return i18n.gettext(
            "Stayed quiet at %(time)s on %(day)s: the record is not set for that day.", time=time, day=day
        )
    if reason == QUIET_LOGGED:
        if today:
            return i18n.gettext("Stayed quiet at %(time)s: something was already written today.", time=time)
        return i18n.gettext(
            "Stayed quiet at %(time)s on %(day)s: something was already written that day.", time=time, day=day
        )
    if reason == QUIET_WEEK_DONE:
        if today:
            return i18n.gettext("Stayed quiet at %(time)s: this week's record was already done.", time=time)
        return i18n.gettext(
            "Stayed quiet at %(time)s on %(day)s: that week's record was already done.", time=time, day=day
        )
    if today:
        return i18n.gettext("Stayed quiet at %(time)s: today's record was already done.", time=time)
    return i18n.gettext("Stayed quiet at %(time)s on %(day)s: that day's record was already done.", time=time, day=day)


_WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def per_week(value: float) -> str:
    """Entries per week, to one decimal, as the page's language writes numbers ("2.5", "2,5")."""
    from babel.numbers import format_decimal

    return str(format_decimal(round(value, 1), format="#,##0.#", locale=i18n.get_locale()))


def this_week(last: date, *, today: date) -> str:
    """A weekly record not done yet this week, on the client's Today: by when, kindly."""
    if last == today:
        return i18n.gettext("Once this week, by today")
    return i18n.gettext("Once this week, by %(day)s", day=wide_day_names()[last.weekday()])


def wide_day_names() -> list[str]:
    """Monday to Sunday, in full, in the current language (index 0: Monday)."""
    from babel.dates import get_day_names

    names = get_day_names("wide", locale=i18n.get_locale())
    return [str(names[number]) for number in range(7)]


def _weekday_names() -> list[tuple[int, str]]:
    return [(number, i18n.gettext(name)) for number, name in enumerate(_WEEKDAYS, start=1)]


# --- In words (pages, change notices) ---


def frequency_label(assignment: Any) -> str:
    frequency = Frequency(assignment.frequency)
    if frequency is Frequency.times_per_day:
        return i18n.ngettext("%(num)s time a day", "%(num)s times a day", assignment.times_per_day)
    if frequency is Frequency.weekdays:
        names = dict(WeekdayNames())
        return ", ".join(names[day] for day in assignment.weekdays)
    if frequency is Frequency.weekly:
        weekdays = list(assignment.weekdays or ())
        if len(weekdays) == 1:  # due on one day of the week (older weekly records have none)
            return i18n.gettext("once a week, on %(day)s", day=wide_day_names()[weekdays[0] - 1])
        return i18n.gettext("once a week")
    if frequency is Frequency.as_it_happens:
        return i18n.gettext("when it happens")
    return i18n.gettext("every day")


class WeekdayNames:
    """Iterates (ISO number, short name) in the current language."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(_weekday_names())
