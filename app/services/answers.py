"""Server-side validation of a client's answers against a form's fields."""

from __future__ import annotations

import math
from typing import Any

from app.i18n import _
from app.models.fields import (
    DurationField,
    EmotionField,
    FieldDef,
    LikertField,
    LongTextField,
    MultiChoiceField,
    NumberField,
    ScaleField,
    ShortTextField,
    SingleChoiceField,
    TimeOfDayField,
    VoiceField,
    YesNoField,
)
from app.services.timeutil import parse_hhmm


class AnswerError(ValueError):
    """Carries one message per field key, ready to show next to the field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


def validate_answers(
    fields: list[FieldDef], answers: dict[str, Any], *, nothing_to_report: bool = False
) -> dict[str, Any]:
    """Return the cleaned answers, or raise AnswerError naming every problem."""
    errors: dict[str, str] = {}
    by_key = {field.key: field for field in fields}
    for key in answers:
        if key not in by_key:
            errors[str(key)[:40]] = _("This form has no field called “%(key)s”.", key=str(key)[:40])
    cleaned: dict[str, Any] = {}
    for field in fields:
        value = answers.get(field.key)
        if _is_empty(value):
            if field.required and not nothing_to_report:
                errors[field.key] = _("Please answer this one.")
            continue
        try:
            cleaned[field.key] = _clean(field, value)
        except _Invalid as problem:
            errors[field.key] = str(problem)
    if errors:
        raise AnswerError(errors)
    return cleaned


class _Invalid(ValueError):
    pass


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Invalid(_("Expected a whole number."))
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _Invalid(_("Expected a whole number."))


def _option_values(field: LikertField | SingleChoiceField | MultiChoiceField | EmotionField) -> set[str]:
    return {option.value for option in field.options}


def _clean(field: FieldDef, value: Any) -> Any:  # noqa: C901 - one branch per field type
    if isinstance(field, ScaleField):
        number = _as_int(value)
        if not field.min <= number <= field.max:
            raise _Invalid(_("Choose a number from %(min)s to %(max)s.", min=field.min, max=field.max))
        return number
    if isinstance(field, LikertField | SingleChoiceField):
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise _Invalid(_("Choose one of the options."))
        if str(value) not in _option_values(field):
            raise _Invalid(_("Choose one of the options."))
        return str(value)
    if isinstance(field, MultiChoiceField):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise _Invalid(_("Choose from the options."))
        if set(items) - _option_values(field):
            raise _Invalid(_("Choose from the options."))
        return sorted(set(items), key=[option.value for option in field.options].index)
    if isinstance(field, EmotionField):
        if not isinstance(value, dict):
            raise _Invalid(_("Pick an emotion and how strong it was."))
        result = {}
        for name, intensity in value.items():
            if name not in _option_values(field):
                raise _Invalid(_("Choose from the listed emotions."))
            strength = _as_int(intensity)
            if not 0 <= strength <= 100:
                raise _Invalid(_("Intensity goes from 0 to 100."))
            result[name] = strength
        return result
    if isinstance(field, YesNoField):
        if isinstance(value, bool):
            return value
        if value in ("yes", "true", "1", 1):
            return True
        if value in ("no", "false", "0", 0):
            return False
        raise _Invalid(_("Answer yes or no."))
    if isinstance(field, NumberField):
        return _clean_number(field, value)
    if isinstance(field, TimeOfDayField):
        if not isinstance(value, str):
            raise _Invalid(_("Enter a time like 23:30."))
        try:
            return parse_hhmm(value).strftime("%H:%M")
        except ValueError:
            raise _Invalid(_("Enter a time like 23:30.")) from None
    if isinstance(field, DurationField):
        minutes = _as_int(value)
        if not 0 <= minutes <= field.max_minutes:
            raise _Invalid(_("Enter between 0 and %(max)s minutes.", max=field.max_minutes))
        return minutes
    if isinstance(field, ShortTextField | LongTextField):
        if not isinstance(value, str):
            raise _Invalid(_("Expected text."))
        text = value.strip()
        if len(text) > field.max_length:
            raise _Invalid(_("Please keep this under %(max)s characters.", max=field.max_length))
        return text
    if isinstance(field, VoiceField):
        # The voice note itself is uploaded separately; the answer holds its id.
        if not isinstance(value, str) or len(value) > 64:
            raise _Invalid(_("This voice note could not be found."))
        return value
    raise _Invalid(_("This field cannot be answered."))


def _clean_number(field: NumberField, value: Any) -> float | int:
    if isinstance(value, bool):
        raise _Invalid(_("Expected a number."))
    try:
        number = float(value.strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise _Invalid(_("Expected a number.")) from None
    if not math.isfinite(number):
        raise _Invalid(_("Expected a number."))
    if field.integer and not number.is_integer():
        raise _Invalid(_("Expected a whole number."))
    if field.min is not None and number < field.min:
        raise _Invalid(_("The smallest allowed is %(min)s.", min=_fmt(field.min)))
    if field.max is not None and number > field.max:
        raise _Invalid(_("The largest allowed is %(max)s.", max=_fmt(field.max)))
    return int(number) if number.is_integer() else number


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)
