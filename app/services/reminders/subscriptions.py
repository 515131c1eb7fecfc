"""The client's devices: push subscriptions added, labelled, removed."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.core.errors import Invalid, NotFound
from app.core.i18n import _
from app.core.push_rules import InvalidSubscriptionKeys, check_keys
from app.core.settings import Settings
from app.models import (
    Client,
    PushSubscription,
)
from app.services import push_endpoints


def device_label(user_agent: str) -> str:
    """A short, human label for a browser ("Safari on iPhone"), not the whole UA string."""
    ua = user_agent or ""
    if "iPhone" in ua or "iPad" in ua:
        device = "iPhone" if "iPhone" in ua else "iPad"
    elif "Android" in ua:
        device = "Android"
    elif "Mac OS X" in ua or "Macintosh" in ua:
        device = "Mac"
    elif "Windows" in ua:
        device = "Windows"
    elif "Linux" in ua:
        device = "Linux"
    else:
        device = ""
    for marker, name in (
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ):
        if marker in ua:
            browser = name
            break
    else:
        browser = ""
    label = " / ".join(part for part in (browser, device) if part)
    return label[:120]


_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def add_subscription(
    session: Session,
    *,
    client: Client,
    data: Any,
    user_agent: str = "",
    settings: Settings,
    opened_at: datetime | None = None,
) -> PushSubscription:
    """Store (or refresh) this device's subscription. Rejects malformed ones, and endpoints the
    push endpoint rules refuse (plain http, hosts that are or resolve to addresses that are not
    public, hosts off the allow-list): see app/services/push_endpoints.py. The host is looked up
    here, so call this from a worker thread, not the event loop. `opened_at`: Between was opened
    on this device then from a reminder, a sign that reminders appear there."""
    invalid = Invalid(_("This push subscription could not be read. Please try again."))
    if not isinstance(data, dict):
        raise invalid
    endpoint = data.get("endpoint")
    keys = data.get("keys")
    if not isinstance(endpoint, str) or not isinstance(keys, dict) or len(endpoint) > 2048:
        raise invalid
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(p256dh, str) or not isinstance(auth, str) or len(p256dh) > 128 or len(auth) > 64:
        raise invalid
    if not _B64URL.match(p256dh) or not _B64URL.match(auth):
        raise invalid
    try:
        check_keys(p256dh, auth)
    except InvalidSubscriptionKeys:
        raise invalid from None
    try:
        push_endpoints.EndpointRules.from_settings(settings).check_for_storing(endpoint)
    except push_endpoints.RefusedEndpoint as refused:
        raise _refused(refused.reason, invalid) from None
    subscription = session.exec(select(PushSubscription).where(PushSubscription.endpoint == endpoint)).first()
    if subscription is None:
        subscription = PushSubscription(client_id=client.id, endpoint=endpoint, p256dh=p256dh, auth=auth)
    # The same browser may have been used by someone else before: it is this client's now.
    subscription.client_id = client.id
    subscription.p256dh = p256dh
    subscription.auth = auth
    subscription.user_agent = device_label(user_agent)
    subscription.expired_at = None
    subscription.failures = 0
    subscription.last_error = None
    if opened_at is not None:
        subscription.last_open_at = opened_at
    session.add(subscription)
    session.flush()
    return subscription


def _refused(reason: str, invalid: Invalid) -> Invalid:
    if reason in (push_endpoints.INSECURE, push_endpoints.UNRESOLVED):
        return Invalid(_("Push notifications need a secure (https) push service."))
    if reason == push_endpoints.NOT_ALLOWED:
        return Invalid(
            _(
                "Reminders can only be sent through the push service of a common browser "
                "(Chrome, Firefox, Safari or Edge). Please try one of those."
            )
        )
    if reason == push_endpoints.ADDRESS:
        return Invalid(_("This push service is not on the public internet, so reminders cannot be sent through it."))
    return invalid


def remove_subscription(
    session: Session,
    *,
    client: Client,
    subscription_id: uuid.UUID | None = None,
    endpoint: str | None = None,
) -> None:
    statement = select(PushSubscription).where(PushSubscription.client_id == client.id)
    if subscription_id is not None:
        statement = statement.where(PushSubscription.id == subscription_id)
    elif endpoint is not None:
        statement = statement.where(PushSubscription.endpoint == endpoint)
    else:
        raise Invalid(_("Which device?"))
    subscription = session.exec(statement).first()
    if subscription is None:
        raise NotFound(_("No such device."))
    session.delete(subscription)


def active_subscriptions(session: Session, *, client_id: uuid.UUID) -> list[PushSubscription]:
    statement = (
        select(PushSubscription)
        .where(PushSubscription.client_id == client_id, col(PushSubscription.expired_at).is_(None))
        .order_by(col(PushSubscription.created_at))
    )
    return list(session.exec(statement))
