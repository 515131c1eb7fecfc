"""Server-side validation of a client's answers against a form's fields."""

from __future__ import annotations

import math
from typing import Any

from app.core.i18n import _
from app.core.timeutil import parse_hhmm
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
    spoken = _spoken_companions(fields, answers)
    companions = {voice_companion(field.key) for field in fields if isinstance(field, ShortTextField | LongTextField)}
    for key in answers:
        if key not in by_key and key not in companions:
            shown = _encodable(str(key)[:40])
            errors[shown] = _("This form has no field called “%(key)s”.", key=shown)
    cleaned: dict[str, Any] = {}
    for field in fields:
        value = answers.get(field.key)
        if _is_empty(value):
            if field.required and not nothing_to_report and voice_companion(field.key) not in spoken:
                errors[field.key] = _("Please answer this one.")
            continue
        try:
            cleaned[field.key] = _clean(field, value)
        except _Invalid as problem:
            errors[field.key] = str(problem)
    for field in fields:
        # A re-rating rates again only the feelings picked in the field it follows.
        if isinstance(field, EmotionField) and field.rerates and field.key in cleaned and field.key not in errors:
            picked = cleaned.get(field.rerates) or {}
            if set(cleaned[field.key]) - set(picked):
                errors[field.key] = _("Rate again only the feelings you picked above.")
    for key, value in spoken.items():
        try:
            cleaned[key] = _clean_voice_id(value)
        except _Invalid as problem:
            errors[key] = str(problem)
    if errors:
        raise AnswerError(errors)
    return cleaned


class _Invalid(ValueError):
    pass


def _is_empty(value: Any) -> bool:
    # Whitespace counts as empty: a blank HTML input or a space typed into a required
    # text box is not an answer, and must not be stored as one.
    if isinstance(value, str):
        return not value.strip()
    return value is None or value == [] or value == {}


def _encodable(text: str) -> str:
    # JSON bodies may carry lone surrogates ("\ud800"), which cannot be written as
    # UTF-8: they would fail later, when the entry is hashed or the page is sent.
    return text.encode("utf-8", "replace").decode("utf-8")


def _check_encodable(text: str) -> str:
    if _encodable(text) != text:
        raise _Invalid(_("This text contains characters that cannot be saved."))
    return text


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Invalid(_("Please enter a whole number."))
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _Invalid(_("Please enter a whole number."))


def _option_values(
    field: LikertField | SingleChoiceField | MultiChoiceField | EmotionField,
) -> set[str]:
    return {option.value for option in field.options}


def _clean(field: FieldDef, value: Any) -> Any:
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
            raise _Invalid(_("Please type your answer."))
        text = _check_encodable(value.strip())
        if len(text) > field.max_length:
            raise _Invalid(_("Please keep this under %(max)s characters.", max=field.max_length))
        return text
    if isinstance(field, VoiceField):
        return _clean_voice_id(value)
    raise _Invalid(_("This field cannot be answered."))


# "Speak instead of typing": a short or long text field may carry a voice note in a
# companion answer "<key>:voice". A colon can never be part of a field key, so the
# companion cannot collide with a real field; a spoken answer satisfies a required field.
VOICE_COMPANION_SUFFIX = ":voice"


def voice_companion(key: str) -> str:
    return key + VOICE_COMPANION_SUFFIX


def _spoken_companions(fields: list[FieldDef], answers: dict[str, Any]) -> dict[str, Any]:
    found = {}
    for field in fields:
        if isinstance(field, ShortTextField | LongTextField):
            value = answers.get(voice_companion(field.key))
            if not _is_empty(value):
                found[voice_companion(field.key)] = value
    return found


def _clean_voice_id(value: Any) -> str:
    # The voice note itself is uploaded separately; the answer holds its id, and the
    # entries service checks that the note exists and is the client's own.
    if not isinstance(value, str) or len(value) > 64 or _encodable(value) != value:
        raise _Invalid(_("This voice note could not be found."))
    return value


def _clean_number(field: NumberField, value: Any) -> float | int:
    if isinstance(value, bool):
        raise _Invalid(_("Please enter a number."))
    try:
        number = float(value.strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, OverflowError):
        # OverflowError: JSON integers have no size limit, floats do.
        raise _Invalid(_("Please enter a number.")) from None
    if not math.isfinite(number):
        raise _Invalid(_("Please enter a number."))
    if field.integer and not number.is_integer():
        raise _Invalid(_("Please enter a whole number."))
    if field.min is not None and number < field.min:
        raise _Invalid(_("The smallest allowed is %(min)s.", min=_fmt(field.min)))
    if field.max is not None and number > field.max:
        raise _Invalid(_("The largest allowed is %(max)s.", max=_fmt(field.max)))
    return int(number) if number.is_integer() else number


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)
