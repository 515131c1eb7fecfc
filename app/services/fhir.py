"""A client's shared records as a FHIR R4 Bundle of Questionnaire and QuestionnaireResponse.

PHQ-9 and GAD-7 carry their LOINC panel, item and answer codes, so a receiving
record system recognises them; every other record type becomes a Questionnaire
generated from its fields. Only shared and discuss-in-session entries are
included (the same query as every therapist export). The bundle is plain JSON
built here; tests validate it with the `fhir.resources` package.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from app.models import Client, Entry, RecordTemplate, TemplateVersion, Therapist
from app.models.fields import FieldDef
from app.models.types import utcnow
from app.services import audit, exports
from app.services.entry_text import tr
from app.services.record_types import fields_of

MEDIA_TYPE = "application/fhir+json"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"

# LOINC panels of the standard questionnaires: panel code, item codes by field key, total score.
_FREQUENCY_ANSWERS = {
    "0": ("LA6568-5", "Not at all"),
    "1": ("LA6569-3", "Several days"),
    "2": ("LA6570-1", "More than half the days"),
    "3": ("LA6571-9", "Nearly every day"),
}
_DIFFICULTY_ANSWERS = {
    "not_difficult": ("LA6572-7", "Not difficult at all"),
    "somewhat": ("LA6573-5", "Somewhat difficult"),
    "very": ("LA6574-3", "Very difficult"),
    "extremely": ("LA6575-0", "Extremely difficult"),
}
LOINC_PANELS: dict[str, dict[str, Any]] = {
    "phq9": {
        "panel": ("44249-1", "PHQ-9 quick depression assessment panel"),
        "items": {
            "item1": "44250-9",
            "item2": "44255-8",
            "item3": "44259-0",
            "item4": "44254-1",
            "item5": "44251-7",
            "item6": "44258-2",
            "item7": "44252-5",
            "item8": "44253-3",
            "item9": "44260-8",
            "difficulty": "69722-7",
        },
        "total": ("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score"),
    },
    "gad7": {
        "panel": ("69737-5", "Generalized anxiety disorder 7 item (GAD-7)"),
        "items": {
            "item1": "69725-0",
            "item2": "68509-9",
            "item3": "69733-4",
            "item4": "69734-2",
            "item5": "69735-9",
            "item6": "69689-8",
            "item7": "69736-7",
            "difficulty": "69722-7",
        },
        "total": ("70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score"),
    },
}

NOTHING_TO_REPORT = "nothing_to_report"
SCORE = "score"


def bundle(session: Session, *, therapist: Therapist, client: Client, base_url: str) -> dict[str, Any]:
    rows = exports.shared_entries(session, therapist=therapist, client=client)
    audit.record(session, actor_kind="therapist", actor_id=therapist.id, action="export.fhir", client_id=client.id)
    versions: dict[uuid.UUID, tuple[TemplateVersion, str | None, bool]] = {}
    for entry in rows:
        if entry.template_version_id not in versions:
            version = session.get(TemplateVersion, entry.template_version_id)
            assert version is not None
            template = session.get(RecordTemplate, version.template_id)
            slug = template.slug if template else None
            versions[version.id] = (version, slug, bool(template and template.is_library))
    root = base_url.rstrip("/") + "/fhir"
    resources: list[dict[str, Any]] = []
    for version, slug, library in versions.values():
        resources.append(questionnaire(version, slug=slug, library=library, root=root))
    for entry in rows:
        version, slug, library = versions[entry.template_version_id]
        resources.append(response(entry, version, slug=slug, library=library, root=root, client=client))
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": utcnow().isoformat()},
        "type": "collection",
        "timestamp": utcnow().isoformat(),
        "entry": [{"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource} for resource in resources],
    }


def questionnaire_url(root: str, version: TemplateVersion) -> str:
    return f"{root}/Questionnaire/{version.template_id}"


def questionnaire(version: TemplateVersion, *, slug: str | None, library: bool, root: str) -> dict[str, Any]:
    panel = LOINC_PANELS.get(slug or "") if library else None
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": str(version.id),
        "url": questionnaire_url(root, version),
        "version": str(version.number),
        "name": _computable_name(slug or f"record_{version.template_id.hex[:8]}"),
        "title": tr(version.title, library=library),
        "status": "active",
        "subjectType": ["Patient"],
        "item": [],
    }
    if version.instructions:
        resource["description"] = tr(version.instructions, library=library)
    if panel:
        code, display = panel["panel"]
        resource["code"] = [{"system": LOINC, "code": code, "display": display}]
    items = resource["item"]
    for field in fields_of(version):
        items.append(_question(field, library=library, panel=panel, system=_option_system(root, version, field)))
    if panel:
        code, display = panel["total"]
        items.append(
            {
                "linkId": SCORE,
                "code": [{"system": LOINC, "code": code, "display": display}],
                "text": display,
                "type": "integer",
                "readOnly": True,
            }
        )
    else:
        items.append({"linkId": NOTHING_TO_REPORT, "text": "Nothing to report today", "type": "boolean"})
    return resource


def _computable_name(text: str) -> str:
    # FHIR names are machine-friendly: a letter first, then letters, digits and _.
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in text)
    return cleaned if cleaned[:1].isalpha() else f"Q{cleaned}"


def _option_system(root: str, version: TemplateVersion, field: FieldDef) -> str:
    return f"{questionnaire_url(root, version)}/options/{field.key}"


def _question(field: FieldDef, *, library: bool, panel: dict[str, Any] | None, system: str) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": field.key, "text": tr(field.label, library=library)}
    if field.required:
        item["required"] = True
    if panel and field.key in panel["items"]:
        item["code"] = [{"system": LOINC, "code": panel["items"][field.key]}]
    kind = field.type
    if kind in ("likert", "single_choice", "multi_choice"):
        item["type"] = "choice"
        if kind == "multi_choice":
            item["repeats"] = True
        item["answerOption"] = [
            {"valueCoding": _coding(field, option.value, library=library, panel=panel, system=system)}
            for option in getattr(field, "options", [])
        ]
    elif kind == "emotion":
        # One 0-100 intensity per emotion, answered for the emotions the client picked.
        item["type"] = "group"
        item["item"] = [
            {"linkId": f"{field.key}.{option.value}", "text": tr(option.label, library=library), "type": "integer"}
            for option in getattr(field, "options", [])
        ]
    else:
        item["type"] = {
            "scale": "integer",
            "yes_no": "boolean",
            "number": "integer" if getattr(field, "integer", False) else "decimal",
            "time_of_day": "time",
            "duration": "quantity",
            "short_text": "string",
            "long_text": "text",
            "voice": "attachment",
        }[kind]
    return item


def _coding(field: FieldDef, value: str, *, library: bool, panel: dict[str, Any] | None, system: str) -> dict[str, Any]:
    labels = {option.value: tr(option.label, library=library) for option in getattr(field, "options", [])}
    if panel and field.key in panel["items"]:
        table = _DIFFICULTY_ANSWERS if field.key == "difficulty" else _FREQUENCY_ANSWERS
        if value in table:
            code, display = table[value]
            coding: dict[str, Any] = {"system": LOINC, "code": code, "display": display}
            if value.isdigit():
                coding["extension"] = [{"url": ORDINAL, "valueDecimal": int(value)}]
            return coding
    return {"system": system, "code": value, "display": labels.get(value, value)}


def response(
    entry: Entry, version: TemplateVersion, *, slug: str | None, library: bool, root: str, client: Client
) -> dict[str, Any]:
    panel = LOINC_PANELS.get(slug or "") if library else None
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": str(entry.id),
        "questionnaire": f"{questionnaire_url(root, version)}|{version.number}",
        "status": "completed",
        "subject": {
            "identifier": {"system": f"{root}/client", "value": str(client.id)},
            "display": client.display_name,
        },
        # When the client says it happened; `authored` is when the answers were last changed.
        "extension": [
            {"url": f"{root}/StructureDefinition/occurred-at", "valueDateTime": entry.occurred_at.isoformat()}
        ],
        "authored": entry.updated_at.isoformat(),
        "item": [],
    }
    items = resource["item"]
    for field in fields_of(version):
        if field.key not in entry.answers:
            continue
        answered = _answer_item(
            field, entry.answers[field.key], library=library, panel=panel, system=_option_system(root, version, field)
        )
        if answered:
            items.append(answered)
    if panel and entry.score is not None:
        items.append({"linkId": SCORE, "text": panel["total"][1], "answer": [{"valueInteger": entry.score}]})
    if not panel and entry.nothing_to_report:
        items.append(
            {"linkId": NOTHING_TO_REPORT, "text": "Nothing to report today", "answer": [{"valueBoolean": True}]}
        )
    if not items:
        del resource["item"]
    return resource


def _answer_item(
    field: FieldDef, value: Any, *, library: bool, panel: dict[str, Any] | None, system: str
) -> dict[str, Any] | None:
    item: dict[str, Any] = {"linkId": field.key, "text": tr(field.label, library=library)}
    kind = field.type
    answers: list[dict[str, Any]]
    if kind in ("likert", "single_choice"):
        answers = [{"valueCoding": _coding(field, str(value), library=library, panel=panel, system=system)}]
    elif kind == "multi_choice":
        answers = [{"valueCoding": _coding(field, str(v), library=library, panel=panel, system=system)} for v in value]
    elif kind == "emotion":
        labels = {option.value: tr(option.label, library=library) for option in getattr(field, "options", [])}
        item["item"] = [
            {
                "linkId": f"{field.key}.{name}",
                "text": labels.get(name, name),
                "answer": [{"valueInteger": int(strength)}],
            }
            for name, strength in value.items()
        ]
        return item if item["item"] else None
    elif kind == "scale":
        answers = [{"valueInteger": int(value)}]
    elif kind == "yes_no":
        answers = [{"valueBoolean": bool(value)}]
    elif kind == "number":
        answers = [{"valueInteger": int(value)} if getattr(field, "integer", False) else {"valueDecimal": value}]
    elif kind == "time_of_day":
        answers = [{"valueTime": f"{value}:00" if len(str(value)) == 5 else str(value)}]
    elif kind == "duration":
        answers = [{"valueQuantity": {"value": int(value), "unit": "min", "system": UCUM, "code": "min"}}]
    elif kind in ("short_text", "long_text"):
        if not value:
            return None
        answers = [{"valueString": str(value)}]
    else:
        # Voice notes stay in Between: the audio is not put into the file.
        return None
    item["answer"] = answers
    return item
