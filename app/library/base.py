"""The shape of a library template, and two small builders that keep the data readable.

The builders take strings that are already marked: every text a person reads is
wrapped in N_() where it is written, so Babel finds it in the template modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.models.fields import dump_fields, parse_fields

Json = dict[str, Any]


@dataclass(frozen=True)
class LibraryTemplate:
    slug: str
    title: str
    instructions: str
    fields: list[Json]
    example: Json
    scoring: str | None = None
    # Filled in when something happens (a difficult moment, an urge, an exposure): assigned
    # "when it happens" unless the therapist chooses otherwise. Not part of the stored version.
    follows_events: bool = False
    # The fields that carry the work (a thought record's balanced thought and re-rating): an
    # entry with each of them answered is *complete* (`complete`). Not part of the stored version.
    work: tuple[str, ...] = ()

    def complete(self, answers: Json, *, nothing_to_report: bool = False) -> bool | None:
        """Whether every part that carries the work is answered; None when the form names no
        such parts or nothing was written ("nothing to report")."""
        if not self.work or nothing_to_report:
            return None
        return all(answered(answers.get(key)) for key in self.work)

    def content(self) -> Json:
        """What a TemplateVersion stores; equal contents mean the same version."""
        return {
            "title": self.title,
            "instructions": self.instructions,
            # Normalised the way the database holds it, so an unchanged definition
            # compares equal to its stored version whatever defaults the models fill in.
            "fields": dump_fields(parse_fields(self.fields)),
            "example": self.example,
            "scoring": self.scoring,
        }


def answered(value: Any) -> bool:
    """Something was put in: a number or a yes/no, or text, choices or ratings that are not empty."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict | tuple):
        return bool(value)
    return True


def option(value: str, label: str) -> Json:
    return {"value": value, "label": label}


def field(key: str, kind: str, label: str, *, required: bool = False, help: str = "", **extra: Any) -> Json:
    spec: Json = {"key": key, "type": kind, "label": label, "required": required}
    if help:
        spec["help"] = help
    spec.update(extra)
    return spec
