"""A weekly record's week, as Today and its reminders count it (`week_of`), is the window the
engine counts (`week_windows`): for any first day, day of the week and day after the first."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.services.adherence.rules import week_of, week_windows


@given(
    first=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    due=st.none() | st.integers(min_value=1, max_value=7),
    span=st.integers(min_value=0, max_value=70),
)
def test_each_day_falls_in_the_engine_window_that_holds_it(first: date, due: int | None, span: int) -> None:
    windows = week_windows(span=span, skip=0, first_weekday=first.isoweekday(), due_weekday=due)
    seen = 0
    for opens, closes in windows:
        for offset in range(opens, closes + 1):
            day = first + timedelta(days=offset)
            assert week_of(day, first_day=first, due_weekday=due) == (
                first + timedelta(days=opens),
                first + timedelta(days=closes),
            )
            seen += 1
    assert seen >= span + 1  # every day from the first on is in some week


def test_a_week_ends_on_its_day_and_the_first_one_starts_on_the_first_day() -> None:
    wednesday, sunday = date(2026, 5, 6), date(2026, 5, 10)
    assert week_of(wednesday, first_day=wednesday, due_weekday=7) == (wednesday, sunday)
    assert week_of(sunday + timedelta(days=1), first_day=wednesday, due_weekday=7) == (
        sunday + timedelta(days=1),
        sunday + timedelta(days=7),
    )
    # Without a day: seven days from the first.
    assert week_of(sunday + timedelta(days=3), first_day=wednesday, due_weekday=None) == (
        date(2026, 5, 13),
        date(2026, 5, 19),
    )
