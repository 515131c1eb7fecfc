"""What a push message says: Declarative Web Push, with what the service worker needs beside it.

The message is the declarative form of WebKit's Declarative Web Push (Safari 18.4+, iPhone
home-screen apps included): a top-level `"web_push": 8030` and a `notification` the browser
shows by itself, even when the service worker was evicted, opening `navigate` on a tap.
`mutable: true` lets a service worker that is there change it first; app/static/sw.js
reads the same `notification` everywhere else (Chromium, Firefox) and adds the buttons the
platform allows. Beside it, what only the worker uses: which reminder and occurrence this is
(for the "seen" beacon) and the signed snooze token (app/services/reminders: `snooze_token`).

Privacy: the words come from the caller, discreet unless the client asked for the record's
name on the lock screen (`Client.lock_screen_detail`); links hold ids, never content.
A message must fit one aes128gcm record of 4096 octets (RFC 8188/8291): 4096 minus the
86-octet header, the 16-octet tag and one padding delimiter leaves `MAX_BYTES`.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import quote_plus

WEB_PUSH = 8030
MAX_BYTES = 4096 - 86 - 16 - 1
# The notification's text is cut to this before the size is checked (lock screens show less).
MAX_BODY = 240

LOG, NOT_TODAY, SNOOZE = "log", "not-today", "snooze"


# Ids and base64url tokens, nearly every value in a link here, read the same quoted or not;
# `urlencode` quoted each one anyway, a fifth of a reminder's payload (docs/benchmarks.md).
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*")


def _quoted(value: str) -> str:
    return value if _PLAIN.fullmatch(value) else quote_plus(value)


def _link(base_url: str, path: str, **query: str) -> str:
    """`base_url` + `path`, with `query` encoded as `urlencode` would."""
    link = base_url.rstrip("/") + path
    if not query:
        return link
    return link + "?" + "&".join(f"{_quoted(name)}={_quoted(value)}" for name, value in query.items())


def record_link(base_url: str, *, assignment_id: uuid.UUID | str, occurrence_id: uuid.UUID | str | None = None) -> str:
    """The record's form; with the occurrence, opening it tells the server the reminder was seen."""
    query = {"occurrence": str(occurrence_id)} if occurrence_id else {}
    return _link(base_url, f"/c/record/{assignment_id}", **query)


def not_today_link(base_url: str, *, assignment_id: uuid.UUID | str, occurrence_id: uuid.UUID | str) -> str:
    """The client's "Not today, because…" check-in for the record (app/routes/client/barriers.py)."""
    return _link(base_url, "/c/barriers/new", assignment=str(assignment_id), occurrence=str(occurrence_id))


def _encode(data: dict[str, Any]) -> bytes:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    if len(body) > MAX_BYTES:  # only a runaway title could do this: drop the words, keep the link
        data["notification"]["body"] = ""
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return body


def _notification(
    *, title: str, body: str, navigate: str, lang: str, tag: str, badge: int | None = None
) -> dict[str, Any]:
    notification: dict[str, Any] = {
        "title": title,
        "body": body[:MAX_BODY],
        "navigate": navigate,
        "lang": lang,
        "tag": tag,
        "mutable": True,
    }
    if badge is not None:
        notification["app_badge"] = str(max(0, badge))
    return notification


def reminder(
    *,
    base_url: str,
    texts: dict[str, Any],
    lang: str,
    assignment_id: uuid.UUID,
    reminder_id: uuid.UUID,
    occurrence_id: uuid.UUID,
    snooze: str,
    badge: int | None,
    not_today: bool = True,
) -> bytes:
    """A reminder to fill in a record: opens the record; buttons "Log now", "Not today" (not for
    a record kept as it happens: none of its days is ever missed), "Snooze". Declaratively,
    "Snooze" opens the record with the snooze choices (a browser without the worker can only
    open a page); the worker snoozes in one tap instead."""
    assignment, occurrence = str(assignment_id), str(occurrence_id)
    record = record_link(base_url, assignment_id=assignment, occurrence_id=occurrence)
    words = texts["actions"]
    notification = _notification(
        title=texts["title"],
        body=texts["body"],
        navigate=record,
        lang=lang,
        tag=f"reminder-{reminder_id}",
        badge=badge,
    )
    actions = [{"action": LOG, "title": words["log"], "navigate": record}]
    if not_today:
        checkin = not_today_link(base_url, assignment_id=assignment, occurrence_id=occurrence)
        actions.append({"action": NOT_TODAY, "title": words["not_today"], "navigate": checkin})
    choices = _link(base_url, f"/c/record/{assignment}", occurrence=occurrence, snooze=snooze)
    actions.append({"action": SNOOZE, "title": words["snooze"], "navigate": choices})
    notification["actions"] = actions
    return _encode(
        {
            "web_push": WEB_PUSH,
            "notification": notification,
            "kind": "reminder",
            "reminder": str(reminder_id),
            "occurrence": occurrence,
            "snooze": snooze,
        }
    )


def nudge(*, base_url: str, texts: dict[str, str], lang: str, appointment_id: uuid.UUID, page: str) -> bytes:
    """The question the day before a session: opens the client's agenda (`page`)."""
    notification = _notification(
        title=texts["title"],
        body=texts["body"],
        navigate=_link(base_url, page),
        lang=lang,
        tag=f"nudge-{appointment_id}",
    )
    return _encode({"web_push": WEB_PUSH, "notification": notification, "kind": "nudge"})


def notifications_work(*, base_url: str, title: str, body: str, lang: str) -> bytes:
    """The test notification ("Notifications work on this device"): opens the reminder settings."""
    notification = _notification(
        title=title, body=body, navigate=_link(base_url, "/c/reminders"), lang=lang, tag="test"
    )
    return _encode({"web_push": WEB_PUSH, "notification": notification, "kind": "test"})
