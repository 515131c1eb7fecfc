"""Logging: JSON lines on stdout, each with the id of the request it belongs to.

The standard library's logging with one small formatter. Every line is one JSON object:
`ts`, `level`, `logger`, `msg`, the request id while a request is being answered, and
whatever a call passes in `extra=` (the access line's route, status and duration).

What is never logged: request bodies, query strings, raw paths (they carry ids), names,
email addresses, anything a person typed. Exception messages can quote input (a validation
error repeats the value it refused), so an exception is logged as its type and stack
(file, line, function), without its message.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

# The id of the request being answered (app/web/access.py sets it), carried into threads too.
REQUEST_ID: ContextVar[str | None] = ContextVar("between_request_id", default=None)

# The attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# One encoder for every line (json.dumps with options builds a new one each call).
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":")).encode


def _when(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def exception_summary(exc_info: ExcInfo) -> dict[str, Any]:
    """An exception (and what caused it) as types and frames, without messages."""
    chain: list[dict[str, Any]] = []
    seen: set[int] = set()
    error: BaseException | None = exc_info[1]
    while error is not None and id(error) not in seen and len(chain) < 5:
        seen.add(id(error))
        kind = type(error)
        frames = traceback.extract_tb(error.__traceback__)[-20:]
        chain.append(
            {
                "type": kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}",
                "stack": [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames],
            }
        )
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return {"type": chain[0]["type"], "chain": chain} if chain else {}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _when(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line and key != "color_message":
                line[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            line["error"] = exception_summary(record.exc_info)  # type: ignore[arg-type]
        if record.stack_info:
            line["stack"] = record.stack_info
        return _ENCODE(line)


class TextFormatter(logging.Formatter):
    """Plain lines for people reading a terminal; exceptions without their messages too."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatException(self, ei: Any) -> str:
        summary = exception_summary(ei)
        lines = []
        for part in summary.get("chain", []):
            lines.append(f"  {part['type']} (message not logged)")
            lines.extend(f"    {frame}" for frame in part["stack"])
        return "\n".join(lines)

    def format(self, record: logging.LogRecord) -> str:
        # Another handler's formatter may have cached the full traceback (messages included).
        cached, record.exc_text = record.exc_text, None
        try:
            text = super().format(record)
        finally:
            record.exc_text = cached
        extras = {key: value for key, value in record.__dict__.items() if key not in _STANDARD}
        request_id = REQUEST_ID.get()
        if request_id is not None:
            extras.setdefault("request_id", request_id)
        if extras:
            text += " " + " ".join(f"{key}={value}" for key, value in extras.items())
        return text


def configure(*, fmt: str = "json", level: str = "INFO") -> None:
    """Send every logger's lines (uvicorn's too: it is started with log_config=None) to stdout.

    Leaves logging alone if something else already set up the root logger (a test runner),
    as logging.basicConfig does; calling it again replaces only its own handler."""
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, "between", False)]
    if root.handlers and not ours:
        return
    for handler in ours:
        root.removeHandler(handler)
    # Thread, process and multiprocessing names are not in the lines: do not look them up.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stdout)
    handler.between = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
