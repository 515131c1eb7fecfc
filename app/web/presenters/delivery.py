"""Delivery problems in plain words, for the client's reminders page and the therapist's client page."""

from __future__ import annotations

from app.core import i18n


def failure_reason(code: str | None) -> str:
    """A machine code of the dispatcher ("http_503") in plain words."""
    code = code or ""
    if code == "late":
        return i18n.gettext("it was due while the reminder service was not running")
    if code == "no_device":
        return i18n.gettext("no device had notifications turned on")
    if code in ("http_404", "http_410"):
        return i18n.gettext("the device no longer accepts notifications")
    if code in ("timeout", "network", "http_429") or code.startswith("http_5"):
        return i18n.gettext("the push service did not answer in time")
    if code == "silent":
        return i18n.gettext("notifications seemed not to be showing on any device")
    if code == "email_failed":
        return i18n.gettext("the email could not be sent")
    return i18n.gettext("it could not be delivered")
