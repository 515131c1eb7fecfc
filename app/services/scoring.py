"""Scoring rules of standard questionnaires, by name.

A TemplateVersion names its rule ("phq9", "gad7"); the score is stored on each
entry when it is saved. Band names are msgids, translated where they are shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.core.i18n import N_

# How many items each rule sums; every item is answered 0-3.
ITEMS: dict[str, int] = {"phq9": 9, "gad7": 7}

# (lowest score, highest score, band) per rule, from the instruments' published cut-offs.
SEVERITY_BANDS: dict[str, tuple[tuple[int, int, str], ...]] = {
    "phq9": (
        (0, 4, N_("Minimal")),
        (5, 9, N_("Mild")),
        (10, 14, N_("Moderate")),
        (15, 19, N_("Moderately severe")),
        (20, 27, N_("Severe")),
    ),
    "gad7": (
        (0, 4, N_("Minimal")),
        (5, 9, N_("Mild")),
        (10, 14, N_("Moderate")),
        (15, 21, N_("Severe")),
    ),
}

# Kinds of risk answer (`risk_flags`); each has its own sentence in the brief.
PHQ9_ITEM9 = "phq9_item9"
SELF_HARM = "self_harm"  # a record says the client hurt themselves

# Library records whose answers can say the client hurt themselves, by slug: a DBT diary
# card's "Did you self-harm today?" answered yes, an urge log's urge to hurt oneself acted on.
# Urges alone are not flagged: a DBT diary rates them every day, and an urge ridden out is the
# skill working.
_SELF_HARM: dict[str, Callable[[dict[str, Any]], bool]] = {
    "dbt_diary_card": lambda answers: answers.get("self_harmed") is True,
    "urge_log": lambda answers: answers.get("urge_type") == "self_harm" and answers.get("acted_on") is True,
}

# The rules and library records whose answers can raise a flag: the caseload reads only
# their entries.
RISK_RULES = ("phq9",)
RISK_RECORDS = tuple(_SELF_HARM)

_ITEM_MAX = 3


def score(rule: str | None, answers: dict[str, Any]) -> int | None:
    """The total, or None when the rule is unknown or any item is unanswered.

    A partial sum would read as a lower (better) score than the person has, so
    an incomplete questionnaire gets no score at all.
    """
    if rule is None or rule not in ITEMS:
        return None
    total = 0
    for number in range(1, ITEMS[rule] + 1):
        value = _item(answers, number)
        if value is None:
            return None
        total += value
    return total


def severity(rule: str | None, total: int | None) -> str | None:
    if rule is None or total is None:
        return None
    for low, high, band in SEVERITY_BANDS.get(rule, ()):
        if low <= total <= high:
            return band
    return None


def risk_flags(rule: str | None, answers: dict[str, Any], *, library: str | None = None) -> list[str]:
    """Answers a therapist should see before anything else, whatever the total: by the
    form's scoring `rule`, and by its `library` slug for the library's own records."""
    flags = []
    if rule == "phq9":
        item9 = _item(answers, 9)
        if item9 is not None and item9 > 0:
            flags.append(PHQ9_ITEM9)
    said = _SELF_HARM.get(library or "")
    if said is not None and said(answers):
        flags.append(SELF_HARM)
    return flags


def max_score(rule: str | None) -> int | None:
    return ITEMS[rule] * _ITEM_MAX if rule in ITEMS else None


def _item(answers: dict[str, Any], number: int) -> int | None:
    # Likert answers are stored as option values ("0".."3"); plain ints score the same
    # so callers holding raw numbers (imports, tests) need not convert them first.
    value = answers.get(f"item{number}")
    if isinstance(value, str) and value.strip().isdecimal():
        points = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        points = value
    else:
        return None
    return points if 0 <= points <= _ITEM_MAX else None
