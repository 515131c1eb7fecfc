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


def option(value: str, label: str) -> Json:
    return {"value": value, "label": label}


def field(key: str, kind: str, label: str, *, required: bool = False, help: str = "", **extra: Any) -> Json:
    spec: Json = {"key": key, "type": kind, "label": label, "required": required}
    if help:
        spec["help"] = help
    spec.update(extra)
    return spec
