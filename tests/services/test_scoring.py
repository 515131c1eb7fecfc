"""PHQ-9 and GAD-7 totals, severity bands and risk flags (the questionnaires' and the library records')."""

from __future__ import annotations

from typing import Any

import pytest

from app.library import BY_SLUG
from app.services import scoring


def answers_totalling(total: int, items: int) -> dict[str, Any]:
    """Item answers (as stored: option values "0".."3") that sum to `total`."""
    assert 0 <= total <= 3 * items
    values = {}
    left = total
    for number in range(1, items + 1):
        points = min(3, left)
        values[f"item{number}"] = str(points)
        left -= points
    return values


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "Minimal"),
        (4, "Minimal"),
        (5, "Mild"),
        (9, "Mild"),
        (10, "Moderate"),
        (14, "Moderate"),
        (15, "Moderately severe"),
        (19, "Moderately severe"),
        (20, "Severe"),
        (27, "Severe"),
    ],
)
def test_phq9_total_and_band_at_each_edge(total: int, band: str) -> None:
    answers = answers_totalling(total, 9)
    assert scoring.score("phq9", answers) == total
    assert scoring.severity("phq9", total) == band


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "Minimal"),
        (4, "Minimal"),
        (5, "Mild"),
        (9, "Mild"),
        (10, "Moderate"),
        (14, "Moderate"),
        (15, "Severe"),
        (19, "Severe"),
        (21, "Severe"),
    ],
)
def test_gad7_total_and_band_at_each_edge(total: int, band: str) -> None:
    answers = answers_totalling(total, 7)
    assert scoring.score("gad7", answers) == total
    assert scoring.severity("gad7", total) == band


def test_bands_cover_every_possible_total_exactly_once() -> None:
    for rule, bands in scoring.SEVERITY_BANDS.items():
        maximum = scoring.max_score(rule)
        assert maximum is not None
        covered = [total for low, high, _band in bands for total in range(low, high + 1)]
        assert covered == list(range(maximum + 1)), rule


@pytest.mark.parametrize(("rule", "total"), [("phq9", -1), ("phq9", 28), ("gad7", 22), ("gad7", 27)])
def test_a_total_outside_the_scale_has_no_band(rule: str, total: int) -> None:
    assert scoring.severity(rule, total) is None


def test_no_rule_or_no_score_has_no_band() -> None:
    assert scoring.severity(None, 10) is None
    assert scoring.severity("phq9", None) is None
    assert scoring.severity("unknown", 10) is None


def test_the_difficulty_question_does_not_count() -> None:
    answers = {**answers_totalling(12, 9), "difficulty": "very"}
    assert scoring.score("phq9", answers) == 12


def test_integer_answers_score_like_stored_option_values() -> None:
    answers = {f"item{number}": 2 for number in range(1, 8)}
    assert scoring.score("gad7", answers) == 14


@pytest.mark.parametrize(("rule", "items"), [("phq9", 9), ("gad7", 7)])
def test_any_unanswered_item_means_no_score(rule: str, items: int) -> None:
    complete = answers_totalling(10, items)
    assert scoring.score(rule, complete) == 10
    for number in range(1, items + 1):
        incomplete = {key: value for key, value in complete.items() if key != f"item{number}"}
        assert scoring.score(rule, incomplete) is None, number
    assert scoring.score(rule, {}) is None


@pytest.mark.parametrize("bad", ["4", "-1", "", "two", None, True, 1.5, [1]])
def test_an_item_outside_0_to_3_means_no_score(bad: Any) -> None:
    answers: dict[str, Any] = {**answers_totalling(9, 9), "item5": bad}
    assert scoring.score("phq9", answers) is None


def test_records_without_a_rule_have_no_score() -> None:
    answers = answers_totalling(9, 9)
    assert scoring.score(None, answers) is None
    assert scoring.score("no_such_rule", answers) is None


def test_phq9_item9_above_zero_is_a_risk_flag_whatever_the_total() -> None:
    answers = {**answers_totalling(0, 9), "item9": "1"}
    assert scoring.score("phq9", answers) == 1
    assert scoring.severity("phq9", 1) == "Minimal"
    assert scoring.risk_flags("phq9", answers) == ["phq9_item9"]
    for value in ("2", "3", 3):
        assert scoring.risk_flags("phq9", {**answers, "item9": value}) == [scoring.PHQ9_ITEM9]


def test_phq9_item9_flags_even_when_other_items_are_missing() -> None:
    assert scoring.risk_flags("phq9", {"item9": "2"}) == ["phq9_item9"]


def test_no_risk_flag_when_item9_is_zero_or_unanswered() -> None:
    highest_otherwise = answers_totalling(24, 9)
    assert highest_otherwise["item9"] == "0"
    assert scoring.risk_flags("phq9", highest_otherwise) == []
    assert scoring.risk_flags("phq9", {}) == []


def test_other_rules_raise_no_risk_flags() -> None:
    # GAD-7 has an item7 and no item 9: nothing there is a risk question.
    assert scoring.risk_flags("gad7", {f"item{number}": "3" for number in range(1, 10)}) == []
    assert scoring.risk_flags(None, {"item9": "3"}) == []


def test_a_dbt_diary_card_that_says_self_harm_is_a_risk_flag() -> None:
    day = {"urge_self_harm": 4, "urge_use": 0, "self_harmed": True}
    assert scoring.risk_flags(None, day, library="dbt_diary_card") == [scoring.SELF_HARM]
    # A high urge alone is the card doing its work: rated every day, not flagged.
    assert scoring.risk_flags(None, {**day, "self_harmed": False}, library="dbt_diary_card") == []
    assert scoring.risk_flags(None, {"urge_self_harm": 5}, library="dbt_diary_card") == []
    # The same key in another form means nothing: the rule belongs to the library's card.
    assert scoring.risk_flags(None, day, library="mood_log") == []
    assert scoring.risk_flags(None, day) == []


def test_an_urge_to_hurt_oneself_acted_on_is_a_risk_flag() -> None:
    acted = {"urge_type": "self_harm", "intensity": 6, "acted_on": True}
    assert scoring.risk_flags(None, acted, library="urge_log") == [scoring.SELF_HARM]
    # Ridden out, or not said: the urge log shows it, without a safety banner.
    assert scoring.risk_flags(None, {**acted, "acted_on": False}, library="urge_log") == []
    assert scoring.risk_flags(None, {"urge_type": "self_harm", "intensity": 6}, library="urge_log") == []
    # Another urge acted on is not a risk answer.
    assert scoring.risk_flags(None, {**acted, "urge_type": "alcohol"}, library="urge_log") == []


def test_every_record_that_can_raise_a_flag_is_in_the_library() -> None:
    # The caseload reads only these records' entries: a slug that names no library record
    # would silently flag nothing.
    assert set(scoring.RISK_RECORDS) <= set(BY_SLUG)
    fields = {slug: {field["key"] for field in BY_SLUG[slug].fields} for slug in scoring.RISK_RECORDS}
    assert "self_harmed" in fields["dbt_diary_card"]
    assert {"urge_type", "acted_on"} <= fields["urge_log"]
