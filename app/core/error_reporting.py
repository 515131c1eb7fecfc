"""Optional error reports to Sentry (or a service that speaks its protocol), scrubbed.

Off unless `BETWEEN_SENTRY_DSN` is set. What leaves the process is an exception's type and
stack (files, lines, functions, the code around them), the route template, the method,
the release and the host name. Removed before anything is sent (`scrub`):

- the request's body, cookies, headers, query string and environment (only its method and
  its URL without the query are kept; URLs carry ids, never content);
- user information (the SDK is told not to collect it either: `send_default_pii=False`);
- local variables of every frame (not collected: `include_local_variables=False`; removed
  again if present);
- exception messages and log message arguments, which can quote what a person typed
  (a validation error repeats the value it refused);
- breadcrumbs' data (URLs of push services, SQL parameters) and the values in log lines
  kept as breadcrumbs (their templates stay), and extra context.
"""

from __future__ import annotations

import warnings
from typing import Any

from app.core.settings import Settings

REMOVED = "[removed]"


def init(settings: Settings, *, transport: Any = None) -> bool:
    """Start error reporting when a DSN is set; returns whether it was started."""
    if not settings.sentry_dsn:
        return False
    import sentry_sdk

    with warnings.catch_warnings():
        # Newer SDKs also read `data_collection`; send_default_pii=False still says "none".
        warnings.filterwarnings("ignore", message=".*send_default_pii", category=DeprecationWarning)
        _start(sentry_sdk, settings, transport)
    return True


def _start(sentry_sdk: Any, settings: Settings, transport: Any) -> None:
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.environment.value,
        release=_release(),
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=settings.sentry_traces_sample_rate,
        enable_metrics=False,
        enable_logs=False,
        before_send=scrub,  # type: ignore[arg-type]
        before_send_transaction=scrub,  # type: ignore[arg-type]
        before_breadcrumb=scrub_breadcrumb,
        transport=transport,
    )


def _release() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"between@{version('between')}"
    except PackageNotFoundError:
        return None


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        kept: dict[str, Any] = {}
        if "method" in request:
            kept["method"] = request["method"]
        if isinstance(request.get("url"), str):
            kept["url"] = request["url"].split("?", 1)[0]
        event["request"] = kept
    for key in ("user", "extra", "modules"):
        event.pop(key, None)
    for exception in _values(event.get("exception")):
        if "value" in exception:
            exception["value"] = REMOVED
        _scrub_frames(exception.get("stacktrace"))
    for thread in _values(event.get("threads")):
        _scrub_frames(thread.get("stacktrace"))
    _scrub_frames(event.get("stacktrace"))
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        logentry.pop("params", None)
        if "message" in logentry:
            logentry["formatted"] = logentry["message"]
    breadcrumbs = event.get("breadcrumbs")
    for crumb in _values(breadcrumbs):
        scrub_breadcrumb(crumb)
    contexts = event.get("contexts")
    if isinstance(contexts, dict):
        contexts.pop("response", None)
    return event


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    crumb.pop("data", None)
    record = (hint or {}).get("log_record")
    if record is not None:  # a log line: its template, without the values put into it
        crumb["message"] = str(record.msg)
    return crumb


def _values(container: Any) -> list[dict[str, Any]]:
    if isinstance(container, dict):
        container = container.get("values")
    return [item for item in container or () if isinstance(item, dict)]


def _scrub_frames(stacktrace: Any) -> None:
    if isinstance(stacktrace, dict):
        for frame in stacktrace.get("frames") or ():
            if isinstance(frame, dict):
                frame.pop("vars", None)
