"""The shape of a Declarative Web Push message, as WebKit's explainer defines it
(https://github.com/WebKit/explainers/tree/main/DeclarativeWebPush), and a small validator.

Written as a JSON-Schema-like description (types, required keys, constants, patterns) so the
rules read as the explainer states them; `problems()` checks a decoded message against it.
Only the notification's own keys are checked strictly (a misspelt `appBadge` would be shown
by nobody); the message's other top-level keys are the service worker's data and are free.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

ABSOLUTE_URL = {"type": "string", "format": "absolute-http-url"}
BADGE = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"^[0-9]+$"}]}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["web_push", "notification"],
    "properties": {
        "web_push": {"const": 8030},
        "app_badge": BADGE,
        "notification": {
            "type": "object",
            "required": ["title", "navigate"],
            "additionalProperties": False,
            "properties": {
                "title": {"type": "string", "minLength": 1},
                "navigate": ABSOLUTE_URL,
                "body": {"type": "string"},
                "lang": {"type": "string", "pattern": r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"},
                "dir": {"enum": ["auto", "ltr", "rtl"]},
                "tag": {"type": "string"},
                "silent": {"type": "boolean"},
                "app_badge": BADGE,
                "mutable": {"type": "boolean"},
                "actions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["action", "title", "navigate"],
                        "additionalProperties": False,
                        "properties": {
                            "action": {"type": "string", "minLength": 1},
                            "title": {"type": "string", "minLength": 1},
                            "navigate": ABSOLUTE_URL,
                        },
                    },
                },
            },
        },
    },
}

_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
}


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":  # a bool is an int in Python, never in JSON
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def _absolute(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _check(value: Any, schema: dict[str, Any], where: str, out: list[str]) -> None:
    if "anyOf" in schema:
        if not any(not _problems_of(value, option, where) for option in schema["anyOf"]):
            out.append(f"{where}: {value!r} matches none of the allowed forms")
        return
    if "const" in schema and (value != schema["const"] or isinstance(value, bool)):
        out.append(f"{where}: must be {schema['const']!r}, not {value!r}")
        return
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: must be one of {schema['enum']}, not {value!r}")
        return
    kind = schema.get("type")
    if kind is not None and not _is_type(value, kind):
        out.append(f"{where}: must be {kind}, not {type(value).__name__}")
        return
    if kind == "string":
        if len(value) < schema.get("minLength", 0):
            out.append(f"{where}: must not be empty")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if schema.get("format") == "absolute-http-url" and not _absolute(value):
            out.append(f"{where}: {value!r} is not an absolute http(s) URL")
    if kind == "integer" and value < schema.get("minimum", value):
        out.append(f"{where}: must be at least {schema['minimum']}")
    if kind == "object":
        for key in schema.get("required", []):
            if key not in value:
                out.append(f"{where}.{key}: required")
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                _check(item, properties[key], f"{where}.{key}", out)
            elif schema.get("additionalProperties") is False:
                out.append(f"{where}.{key}: not a key of the declarative form")
    if kind == "array":
        for index, item in enumerate(value):
            _check(item, schema["items"], f"{where}[{index}]", out)


def _problems_of(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    out: list[str] = []
    _check(value, schema, where, out)
    return out


def problems(message: Any) -> list[str]:
    """Everything in `message` (decoded JSON) that breaks the declarative form; [] when valid."""
    return _problems_of(message, SCHEMA, "$")
