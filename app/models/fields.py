"""Field definitions of a self-record form, stored as JSON on TemplateVersion.

Every field type of the product brief is a variant of one discriminated union,
so a stored form is validated the same way whether it came from the library or
from a therapist's form builder.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str = Field(min_length=1, max_length=40)
    label: str = Field(min_length=1, max_length=120)


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    label: str = Field(min_length=1, max_length=300)
    help: str = Field(default="", max_length=1000)
    required: bool = False

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY.match(value):
            raise ValueError("a field key is lowercase letters, digits and _ (max 40)")
        return value


class ScaleField(_Base):
    type: Literal["scale"]
    min: int = 0
    max: int = 10
    min_label: str = Field(default="", max_length=60)
    max_label: str = Field(default="", max_length=60)

    @model_validator(mode="after")
    def _range(self) -> ScaleField:
        if not (self.min < self.max <= 100):
            raise ValueError("a scale needs min < max ≤ 100")
        return self


class LikertField(_Base):
    type: Literal["likert"]
    options: list[Option] = Field(min_length=2, max_length=11)


class SingleChoiceField(_Base):
    type: Literal["single_choice"]
    options: list[Option] = Field(min_length=2, max_length=30)


class MultiChoiceField(_Base):
    type: Literal["multi_choice"]
    options: list[Option] = Field(min_length=2, max_length=30)


class EmotionField(_Base):
    """Pick one or more emotions and rate each one's intensity 0–100."""

    type: Literal["emotion"]
    options: list[Option] = Field(min_length=2, max_length=30)
    # A re-rating ("how strong are those feelings now?"): the key of the emotion field whose
    # picks it rates again. The form lists only the feelings picked there.
    rerates: str = ""


class YesNoField(_Base):
    type: Literal["yes_no"]


class NumberField(_Base):
    type: Literal["number"]
    min: float | None = None
    max: float | None = None
    unit: str = Field(default="", max_length=20)
    integer: bool = False


class TimeOfDayField(_Base):
    type: Literal["time_of_day"]


class DurationField(_Base):
    """Stored in minutes."""

    type: Literal["duration"]
    max_minutes: int = Field(default=24 * 60, ge=1, le=7 * 24 * 60)


class ShortTextField(_Base):
    type: Literal["short_text"]
    max_length: int = Field(default=200, ge=1, le=500)


class LongTextField(_Base):
    type: Literal["long_text"]
    max_length: int = Field(default=4000, ge=1, le=20000)


class VoiceField(_Base):
    type: Literal["voice"]
    max_seconds: int = Field(default=120, ge=5, le=600)


FieldDef = Annotated[
    ScaleField
    | LikertField
    | SingleChoiceField
    | MultiChoiceField
    | EmotionField
    | YesNoField
    | NumberField
    | TimeOfDayField
    | DurationField
    | ShortTextField
    | LongTextField
    | VoiceField,
    Field(discriminator="type"),
]

FIELD_TYPES = (
    "scale",
    "likert",
    "single_choice",
    "multi_choice",
    "emotion",
    "yes_no",
    "number",
    "time_of_day",
    "duration",
    "short_text",
    "long_text",
    "voice",
)

_FIELD_LIST = TypeAdapter(list[FieldDef])


def parse_fields(raw: list[dict]) -> list[FieldDef]:  # type: ignore[type-arg]
    """Validate a form's field list; raises pydantic.ValidationError."""
    fields = _FIELD_LIST.validate_python(raw)
    if not fields:
        raise ValueError("a form needs at least one field")
    keys = [field.key for field in fields]
    if len(keys) != len(set(keys)):
        raise ValueError("two fields share a key")
    for field in fields:
        options = getattr(field, "options", None)
        if options is not None:
            values = [option.value for option in options]
            if len(values) != len(set(values)):
                raise ValueError(f"field {field.key!r} has two options with the same value")
    seen: dict[str, FieldDef] = {}
    for field in fields:
        if isinstance(field, EmotionField) and field.rerates:
            rated = seen.get(field.rerates)
            if not isinstance(rated, EmotionField) or {o.value for o in field.options} - {
                o.value for o in rated.options
            }:
                raise ValueError(f"field {field.key!r} re-rates no earlier emotion field with its options")
        seen[field.key] = field
    return fields


def dump_fields(fields: list[FieldDef]) -> list[dict]:  # type: ignore[type-arg]
    dumped = [field.model_dump(mode="json") for field in fields]
    # Left out when unused, so that forms stored before re-ratings existed read as unchanged.
    for spec in dumped:
        if spec["type"] == "emotion" and not spec["rerates"]:
            del spec["rerates"]
    return dumped
