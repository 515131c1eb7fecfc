"""Functional analysis: counts from ABC records and urge logs against a hand count, in two windows,
never from a private entry, in one query."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from app.core.db import counting_statements
from app.core.errors import NotFound
from app.library import ABC_RECORD
from app.models import Appointment, Client, Therapist, Visibility
from app.models.types import utcnow
from app.services import functional_analysis, library
from app.services.adherence.rules import DayClock
from app.services.functional_analysis import FunctionalAnalysis, Part
from tests.factories import make_client, make_therapist
from tests.routes.insights_helpers import assign_since, entry_at, past_session

# Ten ABC records, counted by hand (client on UTC; the last session 10 days ago):
#
#  #  days ago  hour  place          what was going on      who was there
#  1      1      21   home           let_down, bored        alone
#  2      2      20   home           conflict               partner
#  3      3      10   work           pressure               work
#  4      5      22   home           let_down               alone
#  5      8      23   out            social, let_down       friends
#  -- the last session --
#  6     12      19   home           conflict               partner, family
#  7     15      14   work           pressure, let_down     work
#  8     20       2   home           bored                  alone
#  9     25      13   someone_elses  conflict               family
# 10     27      20   home           let_down               alone
#
# Over 28 days: let_down 5, conflict 3, pressure 2, bored 2 (a tie: form order puts pressure
# first), social 1. Home 6, work 2, someone_elses 1, out 1. Alone 4, partner 2, family 2, work 2,
# friends 1. Evening 6, afternoon 2, night 1, morning 1.
# Since the last session: let_down 3; conflict, pressure, bored, social 1 each. Home 3, work 1, out 1.
TEN = [
    (1, 21, "home", ["let_down", "bored"], ["alone"]),
    (2, 20, "home", ["conflict"], ["partner"]),
    (3, 10, "work", ["pressure"], ["work"]),
    (5, 22, "home", ["let_down"], ["alone"]),
    (8, 23, "out", ["social", "let_down"], ["friends"]),
    (12, 19, "home", ["conflict"], ["partner", "family"]),
    (15, 14, "work", ["pressure", "let_down"], ["work"]),
    (20, 2, "home", ["bored"], ["alone"]),
    (25, 13, "someone_elses", ["conflict"], ["family"]),
    (27, 20, "home", ["let_down"], ["alone"]),
]
SECRET = "private-abc-7f3e"


def _at(now: datetime, days: int, hour: int) -> datetime:
    return (now - timedelta(days=days)).replace(hour=hour, minute=15, second=0, microsecond=0)


def _abc(number: int, place: str, situation: list[str], people: list[str], **more: Any) -> dict[str, Any]:
    return {
        "activating_event": f"What happened, number {number}",
        "beliefs": "Nobody cares",
        "place": place,
        "situation": situation,
        "people": people,
        **more,
    }


def _world(session: Session, *, last_session_days: float = 10) -> tuple[Therapist, Client, Appointment, datetime]:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, timezone="UTC")
    abc = assign_since(session, client, days=60, slug="abc_record")
    last = past_session(session, therapist, client, days_ago=last_session_days)
    now = utcnow()
    for number, (days, hour, place, situation, people) in enumerate(TEN, start=1):
        visibility = Visibility.discuss if number == 2 else Visibility.shared
        entry_at(
            session,
            client,
            abc,
            _at(now, days, hour),
            answers=_abc(number, place, situation, people),
            visibility=visibility,
        )
    # Never counted: a private one (it would make conflict and work the most frequent),
    # one before both windows, and another record type.
    for days in (2, 4):
        entry_at(
            session,
            client,
            abc,
            _at(now, days, 10),
            answers={**_abc(0, "work", ["conflict"], ["work"]), "activating_event": SECRET},
            visibility=Visibility.private,
        )
    entry_at(session, client, abc, _at(now, 35, 9), answers=_abc(11, "work", ["pressure"], ["work"]))
    mood = assign_since(session, client, days=60, slug="mood_log")
    entry_at(session, client, mood, _at(now, 1, 9), answers={"mood": 4})
    return therapist, client, last, now


def _count(session: Session, world: tuple[Therapist, Client, Appointment, datetime]) -> FunctionalAnalysis:
    therapist, client, last, now = world
    return functional_analysis.count(
        session, therapist=therapist, client=client, since=last.starts_at, as_of=now, clock=DayClock("UTC")
    )


def _values(counts: list[functional_analysis.Count]) -> list[tuple[str, int]]:
    return [(count.value, count.last_28) for count in counts]


def test_the_top_three_antecedents_match_the_hand_count(session: Session) -> None:
    world = _world(session)
    found = _count(session, world)
    assert (found.entries_since_session, found.entries_last_28) == (5, 10)
    parts = found.dimensions
    assert _values(parts[Part.situation].top(3)) == [("let_down", 5), ("conflict", 3), ("pressure", 2)]
    assert _values(parts[Part.place].top(3)) == [("home", 6), ("work", 2), ("someone_elses", 1)]
    assert _values(parts[Part.people].top(3)) == [("alone", 4), ("partner", 2), ("family", 2)]
    assert _values(parts[Part.time_of_day].top(3)) == [("evening", 6), ("afternoon", 2), ("night", 1)]
    # Since the last session, counted apart.
    since = [(count.value, count.since_session) for count in parts[Part.situation].top(3, window="since_session")]
    assert since == [("let_down", 3), ("conflict", 1), ("pressure", 1)]
    assert [(c.value, c.since_session) for c in parts[Part.place].top(3, window="since_session")] == [
        ("home", 3),
        ("work", 1),
        ("out", 1),
    ]
    # Shown in that order too: the most frequent since the session first, then over 28 days.
    assert [count.value for count in parts[Part.situation].counts] == [
        "let_down",
        "conflict",
        "pressure",
        "bored",
        "social",
    ]


def test_each_count_opens_the_entries_behind_it_and_quotes_their_words(session: Session) -> None:
    world = _world(session)
    found = _count(session, world)
    [conflict] = [count for count in found.dimensions[Part.situation].counts if count.value == "conflict"]
    assert [behind.happened for behind in conflict.entries] == [
        "What happened, number 2",
        "What happened, number 6",
        "What happened, number 9",
    ]
    assert [behind.since_session for behind in conflict.entries] == [True, False, False]
    assert conflict.text == "A disagreement or conflict"
    assert conflict.entries[0].day == (world[3] - timedelta(days=2)).date()


def test_a_private_entry_is_never_counted_nor_quoted(session: Session) -> None:
    world = _world(session)
    found = _count(session, world)
    for dimension in found.dimensions.values():
        for count in dimension.counts:
            assert all(SECRET not in behind.happened for behind in count.entries)
            assert count.last_28 <= 10
    [work] = [count for count in found.dimensions[Part.place].counts if count.value == "work"]
    assert (work.since_session, work.last_28) == (1, 2)


def test_a_last_session_further_back_than_28_days_widens_only_its_own_window(session: Session) -> None:
    world = _world(session, last_session_days=40)
    found = _count(session, world)
    # The entry 35 days ago is since the last session but not in the 28 days.
    assert (found.entries_since_session, found.entries_last_28) == (11, 10)
    [work] = [count for count in found.dimensions[Part.place].counts if count.value == "work"]
    assert (work.since_session, work.last_28) == (3, 2)
    assert found.first_day == world[2].starts_at.date()


def test_behaviours_and_what_they_did_right_away_and_later(session: Session) -> None:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist, timezone="Europe/Madrid")
    abc = assign_since(session, client, days=30, slug="abc_record")
    urges = assign_since(session, client, days=30, slug="urge_log")
    now = utcnow()
    for days, behaviour, short, long in (
        (1, ["kept_to_myself", "screens"], ["escaped"], ["worse_later"]),
        (2, ["kept_to_myself"], ["relief", "escaped"], ["worse_later", "strain"]),
        (3, ["reached_out"], ["closer"], ["better"]),
    ):
        entry_at(
            session,
            client,
            abc,
            _at(now, days, 12),
            answers={
                **_abc(days, "home", [], []),
                "behaviour": behaviour,
                "short_term": short,
                "long_term": long,
            },
        )
    for days, acted in ((1, True), (2, True), (3, False), (4, None)):
        answers: dict[str, Any] = {"urge_type": "smoking", "intensity": 6, "trigger": f"Trigger {days}"}
        if acted is not None:
            answers["acted_on"] = acted
        answers["what_i_did"] = "Had one." if acted else "Went for a walk."
        entry_at(session, client, urges, _at(now, days, 18), answers=answers)
    # Nothing to report says nothing about what comes before or after.
    entry_at(session, client, urges, _at(now, 5, 18), answers={}, nothing_to_report=True)
    found = functional_analysis.count(
        session,
        therapist=therapist,
        client=client,
        since=now - timedelta(days=14),
        as_of=now,
        clock=DayClock("Europe/Madrid"),
    )
    assert found.entries_last_28 == 7
    behaviour = found.dimensions[Part.behaviour]
    assert [(count.text, count.last_28) for count in behaviour.counts] == [
        ("Kept to myself or stayed in", 2),
        ("Acted on an urge: Smoking or vaping", 2),
        ("Scrolled or watched screens for a long time", 1),
        ("Talked to someone", 1),
        ("Rode out an urge: Smoking or vaping", 1),
        ("An urge: Smoking or vaping", 1),
    ]
    # The client's own words on what they did are quoted, never sorted.
    [acted] = [count for count in behaviour.counts if count.value == "urge.smoking.acted_on"]
    assert [behind.did for behind in acted.entries] == ["Had one.", "Had one."]
    assert _values(found.dimensions[Part.short_term].top(2)) == [("escaped", 2), ("relief", 1)]
    assert _values(found.dimensions[Part.long_term].top(2)) == [("worse_later", 2), ("strain", 1)]
    # On the client's clock: 12:15 and 18:15 UTC are afternoon and evening in Madrid.
    assert {count.value for count in found.dimensions[Part.time_of_day].counts} == {"afternoon", "evening"}


def test_an_entry_on_the_form_before_the_choices_counts_by_its_time_only(session: Session) -> None:
    """A library version without the new fields: its entries keep working and count by the clock."""
    old_fields = [spec for spec in ABC_RECORD.fields if spec["key"] not in {"situation", "place", "people"}]
    old = replace(
        ABC_RECORD,
        fields=old_fields,
        example={k: v for k, v in ABC_RECORD.example.items() if k in {f["key"] for f in old_fields}},
    )
    library.sync(session, [old])
    session.commit()
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    abc = assign_since(session, client, days=30, slug="abc_record")
    now = utcnow()
    entry_at(session, client, abc, _at(now, 2, 9), answers={"activating_event": "Old form", "beliefs": "B"})
    library.sync(session)
    session.commit()
    entry_at(session, client, abc, _at(now, 1, 9), answers=_abc(1, "home", ["bored"], ["alone"]))
    found = functional_analysis.count(
        session, therapist=therapist, client=client, since=now - timedelta(days=14), as_of=now, clock=DayClock("UTC")
    )
    assert found.entries_last_28 == 2
    assert _values(found.dimensions[Part.time_of_day].counts) == [("morning", 2)]
    assert _values(found.dimensions[Part.place].counts) == [("home", 1)]


def test_one_query_however_many_entries(session: Session, engine: Any) -> None:
    world = _world(session)
    with counting_statements(engine) as statements:
        _count(session, world)
    assert len(statements) == 1


def test_another_therapists_client_is_not_found(session: Session) -> None:
    _therapist, client, _last, now = _world(session)
    with pytest.raises(NotFound):
        functional_analysis.count(
            session,
            therapist=make_therapist(session),
            client=client,
            since=now - timedelta(days=10),
            as_of=now,
            clock=DayClock("UTC"),
        )
