"""My patterns: each insight against a hand count, silent below its minimum amount of data, and
never from a private entry in the therapist's view."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from app.core.db import counting_statements
from app.core.errors import NotFound
from app.models import Assignment, Client, Therapist, Visibility
from app.models.types import utcnow
from app.services import entries, patterns
from app.services.device_trust import PrivateAccess
from app.services.patterns import Section
from tests.factories import make_client, make_therapist
from tests.routes.insights_helpers import assign_since, entry_at

EVERYTHING = PrivateAccess(device_id=None, everything=True)


def _monday(weeks_ago: int = 3) -> datetime:
    """Midnight UTC of a Monday a few weeks back (the client is on UTC, day boundary midnight)."""
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=today.weekday() + 7 * weeks_ago)


@pytest.fixture
def world(session: Session) -> tuple[Therapist, Client]:
    therapist = make_therapist(session)
    return therapist, make_client(session, therapist=therapist)


def _log(
    session: Session, client: Client, assignment: Assignment, at: datetime, answers: dict[str, Any], **kw: Any
) -> None:
    entry_at(session, client, assignment, at, answers=answers, **kw)


def _mine(session: Session, client: Client) -> patterns.Patterns:
    return patterns.for_client(session, client=client, access=EVERYTHING)


# Mood by time of day, by hand: mornings (9 h) 4, 5, 3 -> 4.0; evenings (20 h) 7, 8, 6, 7 -> 7.0.
MORNINGS = [(0, 4), (1, 5), (2, 3)]
EVENINGS = [(0, 7), (1, 8), (2, 6), (3, 7)]


def test_mood_by_time_of_day_speaks_from_seven_entries_in_two_parts_of_the_day(session, world) -> None:
    _therapist, client = world
    mood = assign_since(session, client, days=40, slug="mood_log")
    base = _monday()
    for day, value in MORNINGS:
        _log(session, client, mood, base + timedelta(days=day, hours=9), {"mood": value})
    for day, value in EVENINGS[:3]:
        _log(session, client, mood, base + timedelta(days=day, hours=20), {"mood": value})
    found = _mine(session, client).mood_times
    assert found is not None and found.entries == 6 and not found.times_ready
    day, value = EVENINGS[3]
    _log(session, client, mood, base + timedelta(days=day, hours=20), {"mood": value})
    found = _mine(session, client).mood_times
    assert found is not None and found.entries == 7 and found.times_ready
    [low], [high] = found.extremes(found.times)
    assert (low.key, low.mean, low.count) == ("morning", 4.0, 3)
    assert (high.key, high.mean, high.count) == ("evening", 7.0, 4)
    assert not found.weekdays_ready


def test_seven_entries_in_one_part_of_the_day_compare_nothing(session, world) -> None:
    _therapist, client = world
    mood = assign_since(session, client, days=40, slug="mood_log")
    for day in range(7):
        _log(session, client, mood, _monday() + timedelta(days=day, hours=20), {"mood": 6})
    found = _mine(session, client).mood_times
    assert found is not None and found.entries == 7 and not found.times_ready


def test_mood_by_weekday_speaks_from_fourteen_entries_over_three_weekdays(session, world) -> None:
    _therapist, client = world
    mood = assign_since(session, client, days=40, slug="mood_log")
    base = _monday()
    # Mondays 3, 3, 3; Tuesdays 5, 5, 5; Wednesdays 8, 8, 8; Thursdays 6, 6; Fri, Sat, Sun 6 once.
    week = [(0, 3), (0, 3), (1, 5), (1, 5), (2, 8), (2, 8), (3, 6), (4, 6), (5, 6), (6, 6)]
    later = [(7, 3), (8, 5), (9, 8), (10, 6)]
    for day, value in week + later[:3]:
        _log(session, client, mood, base + timedelta(days=day, hours=12), {"mood": value})
    found = _mine(session, client).mood_times
    assert found is not None and found.entries == 13 and not found.weekdays_ready
    day, value = later[3]
    _log(session, client, mood, base + timedelta(days=day, hours=12), {"mood": value})
    found = _mine(session, client).mood_times
    assert found is not None and found.weekdays_ready
    [low], [high] = found.extremes(found.weekdays)
    assert (low.key, low.mean, low.count) == ("0", 3.0, 3)  # Monday
    assert (high.key, high.mean, high.count) == ("2", 8.0, 3)  # Wednesday
    assert [(group.key, group.count) for group in found.weekdays] == [
        ("0", 3),
        ("1", 3),
        ("2", 3),
        ("3", 2),
        ("4", 1),
        ("5", 1),
        ("6", 1),
    ]


# What goes with the lows and highs, by hand. Sorted moods 2 3 3 5 5 6 7 8 8 9: a third of the
# way up is 5 (index 3), a third of the way down 7 (index 6). Lows (<= 5): entries 1-5; highs (>= 7): 7-10.
CONTEXT = [
    (2, ["work"], ""),
    (3, ["work", "alone"], ""),
    (3, ["alone"], "Grey all day #rain"),
    (5, ["chores"], ""),
    (5, ["work"], ""),
    (6, ["people"], ""),
    (7, ["people", "moving"], ""),
    (8, ["people", "outdoors"], "Park #Walk"),
    (8, ["moving"], "#walk again"),
    (9, ["people"], ""),
]


def test_lows_and_highs_from_ten_entries_with_activities_or_tags(session, world) -> None:
    _therapist, client = world
    mood = assign_since(session, client, days=40, slug="mood_log")
    base = _monday()
    # Without anything ticked or tagged an entry says nothing about what went with it.
    _log(session, client, mood, base + timedelta(hours=7), {"mood": 1, "note": "no tags here"})
    for index, (value, activities, note) in enumerate(CONTEXT[:9]):
        answers = {"mood": value, "activities": activities, **({"note": note} if note else {})}
        _log(session, client, mood, base + timedelta(days=index, hours=12), answers)
    found = _mine(session, client).mood_context
    assert found is not None and found.entries == 9 and not found.ready and found.low == []
    value, activities, note = CONTEXT[9]
    _log(session, client, mood, base + timedelta(days=9, hours=12), {"mood": value, "activities": activities})
    found = _mine(session, client).mood_context
    assert found is not None and found.ready and not found.steady
    assert (found.low_cut, found.high_cut, found.low_size, found.high_size) == (5, 7, 5, 4)
    low = [(item.key, item.count, item.of) for item in found.low]
    assert low == [("activity:work", 3, 5), ("activity:alone", 2, 5)]
    assert [(item.key, item.count, item.of) for item in found.high] == [
        ("activity:people", 3, 4),
        ("activity:moving", 2, 4),
        ("tag:walk", 2, 4),
    ]
    assert found.high[2].text == "#walk"
    assert [(group.key, group.mean, group.count) for group in found.averages] == [
        ("activity:work", 3.3, 3),
        ("activity:people", 7.5, 4),
    ]


def test_a_steady_mood_has_no_lows_and_highs(session, world) -> None:
    _therapist, client = world
    mood = assign_since(session, client, days=40, slug="mood_log")
    for day in range(10):
        _log(session, client, mood, _monday() + timedelta(days=day, hours=12), {"mood": 6, "activities": ["work"]})
    found = _mine(session, client).mood_context
    assert found is not None and found.ready and found.steady and found.low == [] and found.averages == []


def _thought(before: int | None, after: int | None, traps: list[str] | None = None) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "situation": "At work",
        "automatic_thought": "They think I'm useless",
        "emotions": {"anxious": 70},
        "emotions_after": {"anxious": 40},
    }
    if before is not None:
        answers["belief_before"] = before
    if after is not None:
        answers["belief_after"] = after
    if traps:
        answers["thinking_traps"] = traps
    return answers


def test_belief_change_from_three_thought_records_and_thinking_traps_from_three(session, world) -> None:
    _therapist, client = world
    thoughts = assign_since(session, client, days=40, slug="thought_record")
    base = _monday()
    _log(session, client, thoughts, base, _thought(90, 40, ["mind_reading", "catastrophising"]))
    _log(session, client, thoughts, base + timedelta(days=1), _thought(70, 70, ["mind_reading"]))
    # One rating only: counts for nothing but its thinking traps.
    _log(session, client, thoughts, base + timedelta(days=2), _thought(60, None, ["all_or_nothing", "mind_reading"]))
    found = _mine(session, client).beliefs
    assert found is not None and found.entries == 2 and not found.ready
    assert found.with_traps == 3 and found.traps_ready
    # Mind reading 3 times; then a tie at 1, in the form's order: all or nothing before expecting the worst.
    assert [(item.key, item.count, item.of) for item in found.traps] == [
        ("mind_reading", 3, 3),
        ("all_or_nothing", 1, 3),
        ("catastrophising", 1, 3),
    ]
    _log(session, client, thoughts, base + timedelta(days=3), _thought(80, 50))
    found = _mine(session, client).beliefs
    assert found is not None and found.ready
    assert (found.entries, found.mean_before, found.mean_after, found.went_down) == (3, 80.0, 53.3, 2)


def test_a_rerating_lists_only_the_feelings_picked(session, world) -> None:
    from app.core.errors import Invalid

    _therapist, client = world
    thoughts = assign_since(session, client, days=40, slug="thought_record")
    answers = _thought(80, 40)
    answers["emotions_after"] = {"anxious": 40, "sad": 20}
    with pytest.raises(Invalid) as raised:
        _log(session, client, thoughts, _monday(), answers)
    assert set(raised.value.errors) == {"emotions_after"}
    session.rollback()
    answers["emotions_after"] = {"anxious": 40}
    _log(session, client, thoughts, _monday(), answers)
    found = _mine(session, client).beliefs
    assert found is not None and found.entries == 1


def _exposure(peak: int, end: int | None, before: int = 50) -> dict[str, Any]:
    answers: dict[str, Any] = {"situation": "The bus", "suds_before": before, "suds_peak": peak}
    if end is not None:
        answers["suds_after"] = end
    return answers


# Peaks 90 80 85 70 60 50 (mean 72.5); ends 40 50 85 30 20 10 (mean 39.2); came down in 5 of 6.
EXPOSURES = [(90, 40), (80, 50), (85, 85), (70, 30), (60, 20), (50, 10)]


def test_exposure_curves_from_three_and_the_change_in_peak_from_six(session, world) -> None:
    _therapist, client = world
    log = assign_since(session, client, days=40, slug="exposure_log")
    base = _monday()
    _log(session, client, log, base, _exposure(95, None))  # no distress at the end: not a curve
    for index, (peak, end) in enumerate(EXPOSURES[:2]):
        _log(session, client, log, base + timedelta(days=index + 1), _exposure(peak, end))
    found = _mine(session, client).exposures
    assert found is not None and found.entries == 2 and not found.ready
    _log(session, client, log, base + timedelta(days=3), _exposure(*EXPOSURES[2]))
    found = _mine(session, client).exposures
    assert found is not None and found.ready and found.peak_change is None
    for index, (peak, end) in enumerate(EXPOSURES[3:]):
        _log(session, client, log, base + timedelta(days=index + 4), _exposure(peak, end))
    found = _mine(session, client).exposures
    assert found is not None
    assert (found.entries, found.mean_peak, found.mean_end, found.came_down) == (6, 72.5, 39.2, 5)
    assert found.peak_change == (85.0, 60.0)
    assert found.records[0].start == 50


def _night(bed: str, wake: str, falling: int, awake: int | None) -> dict[str, Any]:
    answers: dict[str, Any] = {"bedtime": bed, "wake_time": wake, "quality": 5, "time_to_fall_asleep": falling}
    if awake is not None:
        answers["awake_in_night"] = awake
    return answers


def test_sleep_efficiency_by_hand() -> None:
    # 8 h in bed, 30 + 18 min awake: 432 / 480 = 90 %. Across midnight and without the night's wakings.
    assert patterns.sleep_efficiency(_night("23:00", "07:00", 30, 18)) == 90
    assert patterns.sleep_efficiency(_night("22:00", "06:00", 60, None)) == 88
    assert patterns.sleep_efficiency(_night("23:30", "23:30", 0, 0)) is None
    assert patterns.sleep_efficiency({"bedtime": "nonsense", "wake_time": "07:00"}) is None


def test_sleep_speaks_from_seven_nights_and_compares_from_fourteen(session, world) -> None:
    _therapist, client = world
    diary = assign_since(session, client, days=40, slug="sleep_diary")
    base = _monday()
    # Seven nights at 80 % ((480 - 96) / 480), then seven at 90 %.
    for day in range(6):
        _log(session, client, diary, base + timedelta(days=day, hours=8), _night("22:00", "06:00", 60, 36))
    found = _mine(session, client).sleep
    assert found is not None and found.entries == 6 and not found.ready
    _log(session, client, diary, base + timedelta(days=6, hours=8), _night("22:00", "06:00", 60, 36))
    found = _mine(session, client).sleep
    assert found is not None and found.ready and found.latest == 80.0 and found.before is None
    for day in range(7, 14):
        _log(session, client, diary, base + timedelta(days=day, hours=8), _night("23:00", "07:00", 30, 18))
    found = _mine(session, client).sleep
    assert found is not None and (found.latest, found.before) == (90.0, 80.0)


def _urge(acted: bool | None) -> dict[str, Any]:
    answers: dict[str, Any] = {"urge_type": "smoking", "intensity": 6}
    if acted is not None:
        answers["acted_on"] = acted
    return answers


def test_urges_acted_on_and_ridden_out_from_five(session, world) -> None:
    _therapist, client = world
    log = assign_since(session, client, days=40, slug="urge_log")
    base = _monday()
    outcomes = [True, True, False, True, False, False]
    _log(session, client, log, base, _urge(None))  # not said: counts for neither
    for index, acted in enumerate(outcomes[:4]):
        _log(session, client, log, base + timedelta(days=index + 1), _urge(acted))
    found = _mine(session, client).urges
    assert found is not None and found.entries == 4 and not found.ready
    for index, acted in enumerate(outcomes[4:]):
        _log(session, client, log, base + timedelta(days=index + 5), _urge(acted))
    found = _mine(session, client).urges
    assert found is not None and found.ready
    # Latest five, oldest first: acted, ridden out, acted, ridden out, ridden out.
    assert (found.entries, found.acted, found.rode_out, found.latest_rode_out) == (6, 3, 3, 3)


def test_the_therapist_never_sees_a_private_entry(session, world, engine) -> None:
    therapist, client = world
    mood = assign_since(session, client, days=40, slug="mood_log")
    base = _monday()
    for day, value in MORNINGS:
        _log(session, client, mood, base + timedelta(days=day, hours=9), {"mood": value})
    for day, value in EVENINGS:
        _log(session, client, mood, base + timedelta(days=day, hours=20), {"mood": value})
    # Three private lows in the afternoon, with an activity and a tag of their own.
    for day in range(3):
        answers = {"mood": 0, "activities": ["in_bed"], "note": "#secretthing"}
        _log(session, client, mood, base + timedelta(days=day, hours=14), answers, visibility=Visibility.private)
    # A deleted entry and "nothing to report" count for no one.
    gone = entry_at(session, client, mood, base + timedelta(days=4, hours=14), answers={"mood": 10})
    entries.delete(session, client=client, entry_id=gone.id, access=EVERYTHING)
    entry_at(session, client, mood, base + timedelta(days=5, hours=14), answers={}, nothing_to_report=True)
    session.commit()
    desk = patterns.for_therapist(session, therapist=therapist, client=client)
    assert desk.mood_times is not None and desk.mood_times.entries == 7
    assert "afternoon" not in [group.key for group in desk.mood_times.times]
    own = _mine(session, client)
    assert own.mood_times is not None and own.mood_times.entries == 10
    assert [(group.key, group.mean) for group in own.mood_times.times if group.key == "afternoon"] == [
        ("afternoon", 0.0)
    ]
    # A device the client has not confirmed shows no private entry either.
    unconfirmed = patterns.for_client(session, client=client, access=PrivateAccess(device_id=None, everything=False))
    assert unconfirmed.mood_times is not None and unconfirmed.mood_times.entries == 7
    # A bounded number of queries: entries, assigned record types, zone history.
    with counting_statements(engine) as statements:
        patterns.for_therapist(session, therapist=therapist, client=client)
    assert len(statements) <= 3


def test_another_therapists_client_is_not_found(session, world) -> None:
    _therapist, client = world
    with pytest.raises(NotFound):
        patterns.for_therapist(session, therapist=make_therapist(session), client=client)
    with pytest.raises(NotFound):
        patterns.set_switched_off(session, therapist=make_therapist(session), client=client, off=set())


def test_switched_off_sections_are_neither_computed_nor_shown(session, world) -> None:
    therapist, client = world
    assign_since(session, client, days=40, slug="mood_log")
    assign_since(session, client, days=40, slug="urge_log")
    found = _mine(session, client)
    # Assigned, nothing written yet: each section says how much it needs.
    assert found.shown == [Section.mood_times, Section.mood_context, Section.urges]
    assert found.mood_times is not None and found.mood_times.entries == 0
    patterns.set_switched_off(session, therapist=therapist, client=client, off={Section.mood_times, Section.urges})
    session.commit()
    assert client.patterns_off == ["mood_times", "urges"]
    found = _mine(session, client)
    assert found.shown == [Section.mood_context] and found.mood_times is None and found.urges is None
    desk = patterns.for_therapist(session, therapist=therapist, client=client)
    assert desk.shown == [Section.mood_context]


def test_a_section_without_entries_or_assignment_stays_away(session, world) -> None:
    _therapist, client = world
    assert _mine(session, client).shown == []


def test_tied_days_are_all_named(session, world) -> None:
    from app.core import i18n
    from app.web.presenters import patterns as view

    _therapist, client = world
    mood = assign_since(session, client, days=40, slug="mood_log")
    base = _monday()
    # Mondays and Tuesdays 4, Wednesdays and Thursdays 7, seven days each at noon and 20 h.
    for week in range(2):
        for day, value in ((0, 4), (1, 4), (2, 7), (3, 7)):
            for hour in (12, 20):
                at = base + timedelta(days=7 * week + day, hours=hour)
                _log(session, client, mood, at, {"mood": value})
    found = _mine(session, client).mood_times
    assert found is not None and found.weekdays_ready
    lows, highs = found.extremes(found.weekdays)
    assert [group.key for group in lows] == ["0", "1"] and [group.key for group in highs] == ["2", "3"]
    with i18n.using_locale("en"):
        [card] = [card for card in view.cards(_mine(session, client)) if card.section == "mood_times"]
    assert card.sentences == [
        "Your average mood was much the same at each time of day you wrote (5.5 of 10).",
        "Your average mood ranged from 4 (Monday, Tuesday) to 7 (Wednesday, Thursday).",
    ]
