"""The library of ready self-record templates, shipped as Python data.

The database keeps the English texts (msgids); pages translate library texts
when they show them (app.services.entry_text.tr). Every text here is wrapped in N_() so that
Babel extracts it into the catalogs.

Changing a template's content here is enough: at start-up app.services.library
stores it as a new version, and entries already written keep their old one.
"""

from __future__ import annotations

from app.library.base import LibraryTemplate
from app.library.questionnaires import GAD7, PHQ9, QUESTIONNAIRES
from app.library.records import (
    ABC_RECORD,
    DBT_DIARY_CARD,
    EXPOSURE_LOG,
    FREE_NOTE,
    MOOD_LOG,
    RECORDS,
    SLEEP_DIARY,
    THOUGHT_RECORD,
    URGE_LOG,
)

TEMPLATES: tuple[LibraryTemplate, ...] = RECORDS + QUESTIONNAIRES
BY_SLUG: dict[str, LibraryTemplate] = {template.slug: template for template in TEMPLATES}

# The scale each record's trend chart follows.
KEY_SCALES: dict[str, str] = {
    MOOD_LOG.slug: "mood",
    URGE_LOG.slug: "intensity",
    SLEEP_DIARY.slug: "quality",
    EXPOSURE_LOG.slug: "suds_peak",
}


def complete(slug: str | None, answers: dict[str, object], *, nothing_to_report: bool = False) -> bool | None:
    """Whether an entry has every part that carries the work (`LibraryTemplate.work`) answered:
    the one place that decides it, when an entry is saved. None for a form that names no
    such parts (a therapist's own form, a mood log) and for "nothing to report"."""
    template = BY_SLUG.get(slug) if slug is not None else None
    if template is None:
        return None
    return template.complete(answers, nothing_to_report=nothing_to_report)


__all__ = [
    "ABC_RECORD",
    "BY_SLUG",
    "DBT_DIARY_CARD",
    "EXPOSURE_LOG",
    "FREE_NOTE",
    "GAD7",
    "KEY_SCALES",
    "MOOD_LOG",
    "PHQ9",
    "SLEEP_DIARY",
    "TEMPLATES",
    "THOUGHT_RECORD",
    "URGE_LOG",
    "LibraryTemplate",
    "complete",
]
