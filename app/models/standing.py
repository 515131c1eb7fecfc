"""The states adherence figures come in: a day of a record, a client's records since the last
session, and their reminders' delivery. Enums only, shared by the engine, the pages and the
API's schemas."""

from __future__ import annotations

from enum import StrEnum


class DayState(StrEnum):
    expected = "expected"  # due today and still open
    done = "done"
    nothing_to_report = "nothing_to_report"
    partial = "partial"  # some, but fewer than the N a day asked for (counted as missed)
    missed = "missed"
    extra = "extra"  # entries on a day the schedule did not ask for: done extra
    not_expected = "not_expected"
    future = "future"


class Standing(StrEnum):
    """How the records went since the last session, told apart at a glance."""

    steady = "steady"
    patchy = "patchy"
    quiet = "quiet"
    new = "new"


class DeliveryState(StrEnum):
    """Whether a client's reminders reach them, as the caseload shows it."""

    ok = "ok"
    no_device = "no_device"
    expired = "expired"
    failing = "failing"
    # Push services take the reminders, but nothing shows they appear (services/reminders/health.py).
    silent = "silent"
    paused = "paused"
