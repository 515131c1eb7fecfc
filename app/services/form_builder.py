"""The therapist's form builder: posted rows in, validated field definitions out.

The builder is a plain HTML form with one group of inputs per field row, so it
works without JavaScript; htmx only saves round trips. This module reads those
rows back, keeps an existing field's key across edits (entries and trends are
keyed by it), and reports every problem next to the row it belongs to.
"""

from __future__ import annotations

import math
import re
import secrets
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session, col, select

from app.core.errors import Invalid, NotFound
from app.core.i18n import N_, _
from app.models import RecordTemplate, TemplateVersion, Therapist
from app.models.fields import FIELD_TYPES, KEY, FieldDef, dump_fields, parse_fields
from app.services import record_types
from app.services.answers import AnswerError, validate_answers

ROW_ID = re.compile(r"^r[0-9a-f]{4,16}$")
MAX_ROWS = 50
TITLE_MAX = 120
INSTRUCTIONS_MAX = 4000
LABEL_MAX = 300
HELP_MAX = 1000
OPTION_MAX = 120
EXAMPLE_MAX = 2000
SCALE_LOWEST = -100
SCALE_HIGHEST = 100

CHOICE_TYPES = ("likert", "single_choice", "multi_choice", "emotion")
MAX_OPTIONS = {"likert": 11, "single_choice": 30, "multi_choice": 30, "emotion": 30}
# (default, largest allowed) answer length, mirroring the field models.
TEXT_LIMITS = {"short_text": (200, 500), "long_text": (4000, 20000)}

TYPE_LABELS = {
    "scale": N_("Scale, like 0 to 10"),
    "likert": N_("Agreement scale (Likert)"),
    "single_choice": N_("Choose one"),
    "multi_choice": N_("Choose several"),
    "emotion": N_("Emotions, each with how strong"),
    "yes_no": N_("Yes or no"),
    "number": N_("Number"),
    "time_of_day": N_("Time of day"),
    "duration": N_("Duration in minutes"),
    "short_text": N_("Short text"),
    "long_text": N_("Long text"),
    "voice": N_("Voice note"),
}

# The order problems are listed in, matching the order of the inputs in a row.
ROW_PARTS = ("", "label", "type", "help", "options", "min", "max", "max_length", "example")

_ONE_FIELD: TypeAdapter[Any] = TypeAdapter(FieldDef)


@dataclass
class Row:
    """One field row as the therapist typed it: strings, kept verbatim for re-display."""

    rid: str
    key: str = ""
    label: str = ""
    type: str = "short_text"
    required: bool = False
    help: str = ""
    options: str = ""
    min: str = ""
    max: str = ""
    max_length: str = ""
    example: str = ""

    def is_blank(self) -> bool:
        # A row added and never filled in is dropped rather than refused.
        return not any(text.strip() for text in (self.label, self.help, self.options, self.example))


@dataclass
class Draft:
    title: str = ""
    instructions: str = ""
    rows: list[Row] = field(default_factory=list)
    template_id: uuid.UUID | None = None


@dataclass
class Built:
    title: str
    instructions: str
    fields: list[dict[str, Any]]
    defs: list[Any]
    example: dict[str, Any]
    errors: dict[str, str]

    @property
    def rows_incomplete(self) -> bool:
        return any(ROW_ID.match(key.split(".", 1)[0]) for key in self.errors)


@dataclass(frozen=True)
class Change:
    """What a remove or move did, so the page can put focus back and say so."""

    focus_rid: str | None
    focus_part: str
    status: str


def type_choices() -> list[tuple[str, str]]:
    return [(kind, _(TYPE_LABELS[kind])) for kind in FIELD_TYPES]


# --- Reading the posted form -------------------------------------------------


class PostedForm(Protocol):
    """What the builder reads from a posted form (Starlette's FormData is one): the service
    stays free of the web framework."""

    def get(self, key: str) -> Any: ...

    def getlist(self, key: str) -> list[Any]: ...


def read_draft(*, form: PostedForm) -> Draft:
    """The builder's state from a posted form; unknown or repeated row ids are ignored."""
    rows: list[Row] = []
    seen: set[str] = set()
    for raw in form.getlist("row"):
        rid = _text(raw)
        if not ROW_ID.match(rid) or rid in seen:
            continue
        seen.add(rid)

        def get(part: str, rid: str = rid) -> str:
            return _text(form.get(f"{rid}.{part}"))

        rows.append(
            Row(
                rid=rid,
                key=get("key").strip(),
                label=get("label"),
                type=get("type").strip() or "short_text",
                required=get("required") == "1",
                help=get("help"),
                options=get("options"),
                min=get("min"),
                max=get("max"),
                max_length=get("max_length"),
                example=get("example"),
            )
        )
    return Draft(
        title=_text(form.get("title")),
        instructions=_text(form.get("instructions")),
        rows=rows,
        template_id=_uuid_or_none(_text(form.get("template_id"))),
    )


def _text(value: object) -> str:
    # Anything but text (an uploaded file, nothing) reads as empty.
    if not isinstance(value, str):
        return ""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


# --- Editing the rows (add, remove, move) --------------------------------------


def new_row() -> Row:
    return Row(rid="r" + secrets.token_hex(4))


def add_row(*, draft: Draft) -> Row:
    row = new_row()
    draft.rows.append(row)
    return row


def apply(*, draft: Draft, op: str) -> Change | None:
    """Apply "remove:<row>", "up:<row>" or "down:<row>"; anything else changes nothing."""
    action, _sep, rid = op.partition(":")
    index = next((i for i, row in enumerate(draft.rows) if row.rid == rid), None)
    if index is None or action not in ("remove", "up", "down"):
        return None
    if action == "remove":
        draft.rows.pop(index)
        if not draft.rows:
            return Change(None, "", _("Field removed. The form has no fields now."))
        neighbour = draft.rows[min(index, len(draft.rows) - 1)]
        return Change(neighbour.rid, "label", _("Field removed."))
    target = index - 1 if action == "up" else index + 1
    if 0 <= target < len(draft.rows):
        draft.rows[index], draft.rows[target] = draft.rows[target], draft.rows[index]
        status = _("Field moved to position %(n)s of %(total)s.", n=target + 1, total=len(draft.rows))
    else:
        status = _("This field is already first.") if action == "up" else _("This field is already last.")
    return Change(rid, action, status)


# --- From a stored version back to rows -----------------------------------------


def draft_from_version(*, version: TemplateVersion) -> Draft:
    """Rows for editing a stored version, each carrying its field's key."""
    defs = parse_fields(version.fields)
    rows = [_row_from_def(definition, version.example.get(definition.key)) for definition in defs]
    return Draft(title=version.title, instructions=version.instructions, rows=rows, template_id=version.template_id)


def _row_from_def(definition: Any, example: Any) -> Row:
    row = new_row()
    row.key = definition.key
    row.label = definition.label
    row.type = definition.type
    row.required = definition.required
    row.help = definition.help
    options = getattr(definition, "options", None)
    if options is not None:
        row.options = "\n".join(option.label for option in options)
    if definition.type in ("scale", "number"):
        row.min = _number_text(definition.min)
        row.max = _number_text(definition.max)
    if definition.type in TEXT_LIMITS:
        row.max_length = str(definition.max_length)
    if example is not None:
        row.example = _example_text(definition, example)
    return row


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _example_text(definition: Any, value: Any) -> str:
    labels = {option.value: option.label for option in getattr(definition, "options", None) or []}
    if definition.type in ("likert", "single_choice"):
        return labels.get(str(value), str(value))
    if definition.type == "multi_choice" and isinstance(value, list):
        return ", ".join(str(labels.get(item, item)) for item in value)
    if definition.type == "emotion" and isinstance(value, dict):
        return ", ".join(f"{labels.get(name, name)} {strength}" for name, strength in value.items())
    if definition.type == "yes_no":
        return _("Yes") if value else _("No")
    if isinstance(value, float):
        return _number_text(value)
    return str(value)


# --- Validation: rows to field definitions ----------------------------------------


def build(
    *,
    draft: Draft,
    previous: Sequence[dict[str, Any]] = (),
    reserved: Iterable[str] = (),
) -> Built:
    """Turn the rows into field definitions and an example, collecting every problem.

    `previous` are the current version's fields: a row that keeps one of their keys
    and its type keeps the settings the builder does not show (like a scale's end
    labels). `reserved` are keys earlier versions used, which a new field must not
    take over: trends and exports follow a key across versions.
    """
    errors: dict[str, str] = {}
    title = draft.title.strip()
    instructions = draft.instructions.strip()
    if not title:
        errors["title"] = _("Give the form a title, so you and your client can recognise it.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _too_long(TITLE_MAX)
    if len(instructions) > INSTRUCTIONS_MAX:
        errors["instructions"] = _too_long(INSTRUCTIONS_MAX)

    rows = [row for row in draft.rows if not row.is_blank()]
    if not rows:
        errors["fields"] = _("Add at least one field: a question your client answers.")
    elif len(rows) > MAX_ROWS:
        errors["fields"] = _("A form can have up to %(max)s fields.", max=MAX_ROWS)
        rows = rows[:MAX_ROWS]

    keys = _assign_keys(rows, reserved=set(reserved))
    by_key = {spec.get("key"): spec for spec in previous}
    fields: list[dict[str, Any]] = []
    defs: list[Any] = []
    example: dict[str, Any] = {}
    for row in rows:
        key = keys[row.rid]
        spec, problems = _spec(row, key, by_key.get(key))
        definition = None
        if not problems:
            try:
                definition = _ONE_FIELD.validate_python(spec)
            except ValidationError as error:
                problems[""] = _("This field could not be saved: %(problem)s", problem=_first(error))
        if definition is not None and row.example.strip() and definition.type != "voice":
            try:
                example[key] = _example_answer(definition, row.example)
            except ValueError as error:
                problems["example"] = str(error)
        for part, message in problems.items():
            errors[f"{row.rid}.{part}" if part else row.rid] = message
        if definition is not None and not problems:
            defs.append(definition)
    if defs:
        fields = dump_fields(defs)
        try:
            parse_fields(fields)
        except (ValidationError, ValueError) as error:  # pragma: no cover - keys and options are made unique above
            errors["fields"] = _("This form is not valid: %(problem)s", problem=_first(error))
    return Built(title=title, instructions=instructions, fields=fields, defs=defs, example=example, errors=errors)


def _too_long(limit: int) -> str:
    return _("Please keep this under %(max)s characters.", max=limit)


def _first(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return str(error.errors()[0].get("msg", ""))
    return str(error)


def _assign_keys(rows: list[Row], *, reserved: set[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    taken: set[str] = set()
    for row in rows:
        if KEY.match(row.key) and row.key not in taken:
            keys[row.rid] = row.key
            taken.add(row.key)
    for row in rows:
        if row.rid not in keys:
            key = _unique(_slug(row.label, fallback="field", limit=32, letter_first=True), taken | reserved)
            keys[row.rid] = key
            taken.add(key)
    return keys


def _slug(text: str, *, fallback: str, limit: int, letter_first: bool = False) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "_", plain).strip("_") or fallback
    if letter_first and not slug[0].isalpha():
        slug = f"{fallback}_{slug}"
    return slug[:limit].rstrip("_")


def _unique(base: str, taken: set[str], limit: int = 40) -> str:
    if base not in taken:
        return base
    n = 2
    while True:
        suffix = f"_{n}"
        candidate = base[: limit - len(suffix)].rstrip("_") + suffix
        if candidate not in taken:
            return candidate
        n += 1


def _spec(row: Row, key: str, previous: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    problems: dict[str, str] = {}
    kind = row.type
    label = row.label.strip()
    help_text = row.help.strip()
    if kind not in FIELD_TYPES:
        problems["type"] = _("Choose a kind of answer from the list.")
    if not label:
        problems["label"] = _("Write the question or label your client will see.")
    elif len(label) > LABEL_MAX:
        problems["label"] = _too_long(LABEL_MAX)
    if len(help_text) > HELP_MAX:
        problems["help"] = _too_long(HELP_MAX)
    if len(row.example) > EXAMPLE_MAX:
        problems["example"] = _too_long(EXAMPLE_MAX)
    kept = dict(previous) if previous and previous.get("type") == kind else {}
    spec: dict[str, Any] = {
        **kept,
        "key": key,
        "type": kind,
        "label": label,
        "help": help_text,
        "required": row.required,
    }
    if kind in CHOICE_TYPES:
        options, problem = _options(row.options, kind, kept.get("options") or [])
        if problem:
            problems["options"] = problem
        spec["options"] = options
    elif kind == "scale":
        problems.update(_scale_range(row, spec))
    elif kind == "number":
        problems.update(_number_range(row, spec))
    elif kind in TEXT_LIMITS:
        default, largest = TEXT_LIMITS[kind]
        length = _whole(row.max_length) if row.max_length.strip() else default
        if length is None or not 1 <= length <= largest:
            problems["max_length"] = _(
                "Choose a length from 1 to %(max)s characters.", max=f"{largest:,}".replace(",", " ")
            )
        else:
            spec["max_length"] = length
    return spec, problems


def _options(text: str, kind: str, previous: list[dict[str, Any]]) -> tuple[list[dict[str, str]], str | None]:
    labels = [line.strip() for line in text.splitlines() if line.strip()]
    if len(labels) < 2:
        return [], _("Give at least two options, one per line.")
    if len(labels) > MAX_OPTIONS[kind]:
        return [], _("Please keep to %(max)s options or fewer.", max=MAX_OPTIONS[kind])
    seen: set[str] = set()
    for label in labels:
        if len(label) > OPTION_MAX:
            return [], _("Each option can be up to %(max)s characters.", max=OPTION_MAX)
        folded = label.casefold()
        if folded in seen:
            return [], _("“%(option)s” is listed twice. Each option once, please.", option=label)
        seen.add(folded)
    # An option whose wording is unchanged keeps its stored value.
    kept = {str(option.get("label", "")).casefold(): str(option.get("value", "")) for option in previous}
    options: list[dict[str, str]] = []
    taken: set[str] = set()
    for label in labels:
        value = kept.get(label.casefold()) or _slug(label, fallback="option", limit=40)
        value = _unique(value, taken)
        taken.add(value)
        options.append({"value": value, "label": label})
    return options, None


def _scale_range(row: Row, spec: dict[str, Any]) -> dict[str, str]:
    problems: dict[str, str] = {}
    low = _whole(row.min) if row.min.strip() else 0
    high = _whole(row.max) if row.max.strip() else 10
    if low is None:
        problems["min"] = _("Use a whole number, like 0.")
    elif low < SCALE_LOWEST:
        problems["min"] = _("The lowest value can be %(min)s at the least.", min=SCALE_LOWEST)
    if high is None:
        problems["max"] = _("Use a whole number, like 10.")
    elif high > SCALE_HIGHEST:
        problems["max"] = _("The highest value can be %(max)s at the most.", max=SCALE_HIGHEST)
    if not problems and low is not None and high is not None:
        if low >= high:
            problems["max"] = _("The highest value needs to be above the lowest.")
        spec["min"], spec["max"] = low, high
    return problems


def _number_range(row: Row, spec: dict[str, Any]) -> dict[str, str]:
    problems: dict[str, str] = {}
    bounds: dict[str, float | None] = {}
    for part in ("min", "max"):
        try:
            bounds[part] = _decimal(getattr(row, part))
        except ValueError:
            problems[part] = _("Use a number, like 0 or 7.5, or leave it empty.")
    if problems:
        return problems
    low, high = bounds["min"], bounds["max"]
    if low is not None and high is not None and low >= high:
        problems["max"] = _("The highest value needs to be above the lowest.")
    spec["min"], spec["max"] = low, high
    return problems


def _whole(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _decimal(text: str) -> float | None:
    """None when left empty; ValueError when it is not a usable number."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    number = float(text)
    if not math.isfinite(number) or abs(number) > 1e12:
        raise ValueError(text)
    return number


def _example_answer(definition: Any, text: str) -> Any:
    """Read an example typed as words ("Sad 70, Calm 40") into a stored answer."""
    text = text.strip()
    raw: Any = text
    if definition.type in ("likert", "single_choice"):
        raw = _option_value(definition, text)
    elif definition.type == "multi_choice":
        raw = [_option_value(definition, part) for part in _parts(definition, text)]
    elif definition.type == "emotion":
        raw = dict(_emotion(definition, part) for part in _parts(definition, text))
    elif definition.type == "yes_no":
        words = {_("Yes").casefold(): "yes", "yes": "yes", _("No").casefold(): "no", "no": "no"}
        raw = words.get(text.casefold(), text)
    try:
        return validate_answers([definition], {definition.key: raw})[definition.key]
    except AnswerError as error:
        raise ValueError(next(iter(error.errors.values()))) from None


def _parts(definition: Any, text: str) -> list[str]:
    if _find_option(definition, text) is not None:
        return [text]
    return [part.strip() for part in re.split(r"[,;\n]", text) if part.strip()]


def _find_option(definition: Any, text: str) -> str | None:
    folded = text.strip().casefold()
    for option in definition.options:
        if folded in (option.label.casefold(), option.value.casefold()):
            return str(option.value)
    return None


def _option_value(definition: Any, text: str) -> str:
    value = _find_option(definition, text)
    if value is None:
        raise ValueError(_("“%(item)s” is not one of the options.", item=text))
    return value


def _emotion(definition: Any, text: str) -> tuple[str, int]:
    value = _find_option(definition, text)
    if value is not None:
        return value, 50
    match = re.fullmatch(r"(?P<name>.*?)\s*(?P<strength>\d{1,3})\s*%?", text)
    if match:
        value = _find_option(definition, match["name"])
        if value is not None:
            return value, int(match["strength"])
    raise ValueError(_("“%(item)s” is not one of the options.", item=text))


# --- Storing, and reading back -------------------------------------------------------


def editing(session: Session, *, therapist: Therapist, draft: Draft) -> RecordTemplate | None:
    """The own form a builder page is editing, if any (another therapist's is a 404)."""
    if draft.template_id is None:
        return None
    return record_types.get_own(session, therapist=therapist, template_id=draft.template_id)


def build_for(session: Session, *, draft: Draft, template: RecordTemplate | None) -> Built:
    if template is None:
        return build(draft=draft)
    current = record_types.current_version(session, template=template)
    return build(draft=draft, previous=current.fields, reserved=_keys_ever_used(session, template=template))


def _keys_ever_used(session: Session, *, template: RecordTemplate) -> set[str]:
    versions = session.exec(select(TemplateVersion).where(TemplateVersion.template_id == template.id))
    return {str(spec.get("key")) for version in versions for spec in version.fields}


def save(
    session: Session, *, therapist: Therapist, draft: Draft, template_id: uuid.UUID | None = None
) -> RecordTemplate:
    """Create an own form, or store an edit as a new version; the caller commits.

    Saving an edit that changes nothing adds no version.
    """
    template = None
    if template_id is not None:
        template = record_types.get_own(session, therapist=therapist, template_id=template_id)
    built = build_for(session, draft=draft, template=template)
    if built.errors:
        raise Invalid(_("Some parts of the form need another look."), errors=built.errors)
    if template is None:
        return record_types.create_own(
            session,
            therapist=therapist,
            title=built.title,
            instructions=built.instructions,
            fields=built.fields,
            example=built.example,
        )
    current = record_types.current_version(session, template=template)
    unchanged = (current.title, current.instructions, current.fields, current.example) == (
        built.title,
        built.instructions,
        built.fields,
        built.example,
    )
    if not unchanged:
        record_types.edit_own(
            session,
            therapist=therapist,
            template_id=template.id,
            title=built.title,
            instructions=built.instructions,
            fields=built.fields,
            example=built.example,
        )
    return template


def history(session: Session, *, template: RecordTemplate) -> list[TemplateVersion]:
    """Every version of a form, newest first."""
    statement = (
        select(TemplateVersion)
        .where(TemplateVersion.template_id == template.id)
        .order_by(col(TemplateVersion.number).desc())
    )
    return list(session.exec(statement))


def version_of(session: Session, *, template: RecordTemplate, number: int) -> TemplateVersion:
    version = session.exec(
        select(TemplateVersion).where(TemplateVersion.template_id == template.id, TemplateVersion.number == number)
    ).first()
    if version is None:
        raise NotFound(_("This form has no such version."))
    return version
