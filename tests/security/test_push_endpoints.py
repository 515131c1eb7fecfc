"""Push endpoints cannot be used to make the server send requests into its own network.

An endpoint is stored only if it is https on a host whose addresses are all public (and, with
the allow-list on, a known push service); the sender checks the addresses again whenever it
connects (a name may resolve elsewhere by then), connects to the address it checked, and never
follows a redirect. See app/services/push_endpoints.py and docs/security.md.

The only stand-in here is `Resolver`: a name that answers one address when it is stored and
another when it is sent to (DNS rebinding) cannot be had from a real resolver in a test, so
`socket.getaddrinfo` answers for one made-up name; every other name is resolved as usual.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core.errors import Invalid
from app.core.settings import DEFAULT_PUSH_HOSTS, Environment, Settings
from app.dispatch.dispatcher import Dispatcher
from app.dispatch.vapid import VapidKeys
from app.models import Client, OccurrenceStatus, PushSubscription, ReminderOccurrence
from app.services.push_endpoints import EndpointRules, RefusedEndpoint, is_public, parse_address
from app.services.reminders import subscriptions
from tests.dispatch import conftest as dispatch_fixtures
from tests.dispatch.conftest import Sink, client_with_reminder, dispatch, due_now, subscription_json
from tests.factories import make_client, signed_in

# The fault-injecting loopback push endpoint of the dispatcher tests.
sink = dispatch_fixtures.sink

START = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
NOT_PUBLIC = "This push service is not on the public internet, so reminders cannot be sent through it."
NOT_PUBLIC_ES = "Este servicio de notificaciones no está en internet"
NOT_ALLOWED = "Reminders can only be sent through the push service of a common browser"
INSECURE = "Push notifications need a secure (https) push service."

# Every kind of address that is not on the public internet, written as a push endpoint.
REFUSED = {
    "loopback": "https://127.0.0.1/push",
    "loopback elsewhere in 127/8": "https://127.10.20.30/push",
    "loopback by name": "https://localhost/push",
    "a database port on loopback": "https://localhost:5432/",
    "loopback, short form": "https://127.1/push",
    "loopback, decimal form": "https://2130706433/push",
    "loopback, hexadecimal form": "https://0x7f.0.0.1/push",
    "IPv6 loopback": "https://[::1]/push",
    "private 10/8": "https://10.0.0.5/push",
    "private 172.16/12": "https://172.16.0.1/push",
    "private 192.168/16": "https://192.168.1.1:8443/push",
    "link-local (cloud metadata)": "https://169.254.169.254/latest/meta-data/",
    "shared address space (CGNAT 100.64/10)": "https://100.64.0.1/push",
    "IETF protocol assignments 192.0.0/24": "https://192.0.0.8/push",
    "multicast": "https://224.0.0.1/push",
    "multicast, site-local scope": "https://239.255.255.250/push",
    "reserved 240/4": "https://240.0.0.1/push",
    "broadcast": "https://255.255.255.255/push",
    "unspecified": "https://0.0.0.0/push",
    "this network 0/8": "https://0.1.2.3/push",
    "documentation": "https://192.0.2.10/push",
    "benchmarking": "https://198.18.0.1/push",
    "IPv6 unspecified": "https://[::]/push",
    "IPv4-mapped loopback": "https://[::ffff:127.0.0.1]/push",
    "IPv4-mapped private": "https://[::ffff:10.1.2.3]/push",
    "IPv4-mapped link-local": "https://[::ffff:169.254.169.254]/push",
    "IPv4-compatible loopback": "https://[::127.0.0.1]/push",
    "NAT64 of loopback": "https://[64:ff9b::7f00:1]/push",
    "NAT64 of a private address": "https://[64:ff9b::a00:1]/push",
    "local-use NAT64": "https://[64:ff9b:1::1]/push",
    "6to4 of loopback": "https://[2002:7f00:1::1]/push",
    "Teredo": "https://[2001::1]/push",
    "unique-local fc00::/7": "https://[fc00::1]/push",
    "unique-local fd00::/8": "https://[fd12:3456:789a::1]/push",
    "link-local fe80::/10": "https://[fe80::1]/push",
    "site-local fec0::/10": "https://[fec0::1]/push",
    "IPv6 multicast": "https://[ff02::1]/push",
    "IPv6 documentation": "https://[2001:db8::1]/push",
    "discard-only 100::/64": "https://[100::1]/push",
}


class Resolver:
    """`socket.getaddrinfo` answering for one made-up name with `answers` in turn (the last one
    repeats) and counting the lookups; any other name is resolved for real."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, *answers: str) -> None:
        self.name = name
        self.answers = list(answers)
        self.calls = 0
        real: Callable[..., Any] = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            text = host.decode() if isinstance(host, bytes) else host
            if text != self.name:
                return real(host, port, *args, **kwargs)
            address = self.answers[min(self.calls, len(self.answers) - 1)]
            self.calls += 1
            number = int(port or 0)
            if ":" in address:
                return [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, number, 0, 0))]
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, number))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def phone(web: TestClient, session: Session) -> tuple[TestClient, Client]:
    client = make_client(session)
    return signed_in(web, session, client), client


def _stored(session: Session) -> list[PushSubscription]:
    session.expire_all()
    return list(session.exec(select(PushSubscription)))


def _app_with(settings: Settings, engine: Engine, **changes: Any) -> TestClient:
    from app.main import create_app

    return TestClient(create_app(settings.model_copy(update=changes), engine=engine), base_url="http://testserver")


# --- the rule itself ----------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", REFUSED.values(), ids=REFUSED.keys())
def test_every_non_public_address_class_is_refused_by_the_rule(endpoint: str) -> None:
    with pytest.raises(RefusedEndpoint, match="address"):
        EndpointRules().check_for_storing(endpoint)
    written = parse_address(
        endpoint.split("/")[2].rsplit(":", 1)[0] if "[" not in endpoint else endpoint.split("[")[1].split("]")[0]
    )
    if written is not None:
        assert not is_public(written)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "142.250.184.202", "17.253.144.10", "2606:4700:4700::1111", "2a00:1450:4001:82b::200a"]
)
def test_public_addresses_pass(address: str) -> None:
    parsed = parse_address(address)
    assert parsed is not None and is_public(parsed)
    EndpointRules().check_addresses("https", [parsed])


def test_loopback_only_with_the_test_setting_and_plain_http_only_to_loopback() -> None:
    loopback = EndpointRules(allow_loopback=True)
    loopback.check_for_storing("http://127.0.0.1:9/x")
    loopback.check_for_storing("https://[::1]:9/x")
    loopback.check_for_storing("http://localhost:9/x")
    for endpoint in (
        "http://10.0.0.1/x",
        "https://10.0.0.1/x",
        "https://169.254.169.254/",
        "http://[::ffff:10.0.0.1]/",
    ):
        with pytest.raises(RefusedEndpoint):
            loopback.check_for_storing(endpoint)
    with pytest.raises(RefusedEndpoint, match="insecure"):
        EndpointRules().check_for_storing("http://127.0.0.1:9/x")


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com@127.0.0.1/push",  # credentials: the host is the part after @
        "https://user:pass@fcm.googleapis.com/push",
        "https:///push",
        "https://[::1/push",
        "https://fcm.googleapis.com:99999/push",
        "ftp://fcm.googleapis.com/push",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "https://fcm.googleapis.com/push\r\nX-Injected: 1",
        "https://fcm.googleapis.com:0/push",
        "https://%31%32%37.0.0.1/push",  # percent-encoded host
        "https://a\x00b/push",
        "https://[v1.fe]/push",
        "https://under_score.example/push",
        "https://" + "a" * 64 + ".example/push",
    ],
)
def test_malformed_and_other_schemes_are_refused(endpoint: str) -> None:
    with pytest.raises(RefusedEndpoint):
        EndpointRules().check_url(endpoint)


# --- storing, through the route a phone calls ------------------------------------------------


@pytest.mark.parametrize("endpoint", REFUSED.values(), ids=REFUSED.keys())
def test_every_non_public_address_class_is_refused_when_stored(
    phone: tuple[TestClient, Client], session: Session, endpoint: str
) -> None:
    browser, _client = phone
    answer = browser.post("/api/v1/push/subscriptions", json=subscription_json(endpoint))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == NOT_PUBLIC
    assert _stored(session) == []


def test_the_refusal_is_in_the_persons_language(phone: tuple[TestClient, Client], session: Session) -> None:
    browser, _client = phone
    answer = browser.post(
        "/api/v1/push/subscriptions",
        json=subscription_json("https://169.254.169.254/latest/meta-data/"),
        headers={"Accept-Language": "es"},
    )
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(NOT_PUBLIC_ES)


def test_a_name_that_resolves_to_a_private_address_is_refused_when_stored(
    phone: tuple[TestClient, Client], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    Resolver(monkeypatch, "push.internal.test", "93.184.215.14", "10.20.30.40")  # private on the 2nd lookup
    browser, _client = phone
    assert (
        browser.post("/api/v1/push/subscriptions", json=subscription_json("https://push.internal.test/a")).status_code
        == 201
    )
    answer = browser.post("/api/v1/push/subscriptions", json=subscription_json("https://push.internal.test/b"))
    assert answer.status_code == 422 and answer.json()["detail"] == NOT_PUBLIC
    assert [stored.endpoint for stored in _stored(session)] == ["https://push.internal.test/a"]


def test_a_replacement_subscription_is_checked_too(
    phone: tuple[TestClient, Client], session: Session, web: TestClient
) -> None:
    browser, _client = phone
    assert (
        browser.post("/api/v1/push/subscriptions", json=subscription_json("https://push.example.org/old")).status_code
        == 201
    )
    # The service worker's `pushsubscriptionchange` path (no session, the old endpoint as proof).
    with TestClient(web.app, base_url="http://testserver") as worker:
        answer = worker.post(
            "/push/subscription-change",
            json={
                "old_endpoint": "https://push.example.org/old",
                "subscription": subscription_json("https://10.0.0.1/new"),
            },
            headers={"Accept": "application/json"},  # as the service worker's fetch asks
        )
    assert answer.status_code == 422 and answer.json()["detail"] == NOT_PUBLIC
    assert [stored.endpoint for stored in _stored(session)] == ["https://push.example.org/old"]


def test_plain_http_is_refused_when_stored(phone: tuple[TestClient, Client], session: Session) -> None:
    browser, _client = phone
    for endpoint in ("http://127.0.0.1:9/x", "http://push.example.org/x"):
        answer = browser.post("/api/v1/push/subscriptions", json=subscription_json(endpoint))
        assert answer.status_code == 422 and answer.json()["detail"] == INSECURE
    assert _stored(session) == []


def test_an_unreadable_endpoint_is_refused_when_stored(phone: tuple[TestClient, Client], session: Session) -> None:
    browser, _client = phone
    for endpoint in ("https://fcm.googleapis.com@127.0.0.1/push", "https://%31%32%37.0.0.1/", "gopher://127.0.0.1/"):
        answer = browser.post("/api/v1/push/subscriptions", json=subscription_json(endpoint))
        assert answer.status_code == 422, endpoint
        assert answer.json()["detail"] in (INSECURE, "This push subscription could not be read. Please try again.")
    assert _stored(session) == []


# --- the allow-list ---------------------------------------------------------------------------


KNOWN_SERVICES = [
    "https://fcm.googleapis.com/fcm/send/dXNlcjE",
    "https://android.googleapis.com/gcm/send/dXNlcjE",
    "https://updates.push.services.mozilla.com/wpush/v2/gAAAAA",
    "https://web.push.apple.com/QGuQyavXutnMH",
    "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAD",
]


def test_allow_list_on_admits_only_the_known_push_services(
    session: Session, settings: Settings, engine: Engine
) -> None:
    client = make_client(session)
    with signed_in(_app_with(settings, engine, push_host_allowlist=True), session, client) as browser:
        for endpoint in KNOWN_SERVICES:
            answer = browser.post("/api/v1/push/subscriptions", json=subscription_json(endpoint))
            assert answer.status_code == 201, (endpoint, answer.text)
        for endpoint in (
            "https://push.example.org/x",
            "https://xfcm.googleapis.com/x",  # a suffix counts only after a dot
            "https://fcm.googleapis.com.example.org/x",
            "https://googleapis.com/x",
            "https://127.0.0.1/x",
        ):
            answer = browser.post("/api/v1/push/subscriptions", json=subscription_json(endpoint))
            assert answer.status_code == 422, endpoint
            assert answer.json()["detail"].startswith(NOT_ALLOWED)
    assert sorted(stored.endpoint for stored in _stored(session)) == sorted(KNOWN_SERVICES)


def test_allow_list_off_admits_any_public_host(
    phone: tuple[TestClient, Client], session: Session, settings: Settings
) -> None:
    assert settings.push_host_allowlist is False  # the default outside production
    browser, _client = phone
    answer = browser.post("/api/v1/push/subscriptions", json=subscription_json("https://push.example.org/x"))
    assert answer.status_code == 201


def test_allow_list_defaults_and_settings(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    production = Settings(
        environment=Environment.production,
        data_dir=tmp_path,
        secret_key="k" * 40,
        base_url="https://between.example.org",
        vapid_private_key="unused-here",
        vapid_subject="mailto:ops@between.example.org",
    )
    assert production.push_host_allowlist is True and production.push_allowed_hosts == DEFAULT_PUSH_HOSTS
    assert production.push_allow_loopback is False
    for environment in (Environment.development, Environment.test):
        assert Settings(environment=environment, data_dir=tmp_path).push_host_allowlist is False
        assert Settings(environment=environment, data_dir=tmp_path).push_allow_loopback is False

    monkeypatch.setenv("BETWEEN_PUSH_ALLOWED_HOSTS", "fcm.googleapis.com, .Push.Example.ORG.")
    monkeypatch.setenv("BETWEEN_PUSH_HOST_ALLOWLIST", "true")
    configured = Settings(environment=Environment.test, data_dir=tmp_path)
    assert configured.push_allowed_hosts == ("fcm.googleapis.com", "push.example.org")
    rules = EndpointRules.from_settings(configured)
    rules.check_url("https://eu.push.example.org/x")
    with pytest.raises(RefusedEndpoint, match="not_allowed"):
        rules.check_url("https://push.apple.com/x")

    monkeypatch.setenv("BETWEEN_PUSH_ALLOWED_HOSTS", "")
    with pytest.raises(ValueError, match="BETWEEN_PUSH_ALLOWED_HOSTS"):
        Settings(environment=Environment.test, data_dir=tmp_path)


def test_production_refuses_the_loopback_test_setting(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="BETWEEN_PUSH_ALLOW_LOOPBACK"):
        Settings(
            environment=Environment.production,
            data_dir=tmp_path,
            secret_key="k" * 40,
            base_url="https://between.example.org",
            vapid_private_key="unused-here",
            vapid_subject="mailto:ops@between.example.org",
            push_allow_loopback=True,
        )


# --- at connect time ------------------------------------------------------------------------------


def test_a_name_rebound_to_loopback_after_it_was_stored_is_not_connected_to(
    phone: tuple[TestClient, Client], session: Session, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Public when stored, 127.0.0.1 when sent to: the test notification refuses to connect and
    counts a failed delivery. Were the check missing, the sink on 127.0.0.1 would get the POST."""
    dns = Resolver(monkeypatch, "rebinding.push.test", "93.184.215.14", "127.0.0.1")
    browser, _client = phone
    endpoint = f"https://rebinding.push.test:{sink.port}/phone"
    assert browser.post("/api/v1/push/subscriptions", json=subscription_json(endpoint)).status_code == 201

    answer = browser.post("/c/reminders/test", headers={"HX-Request": "true"})

    assert answer.status_code == 200
    assert "The test notification could not be delivered." in answer.text
    assert dns.calls == 2  # stored, then the connection
    assert sink.received == []
    [device] = _stored(session)
    assert device.failures == 1 and device.last_error == "refused_address" and device.last_success_at is None
    assert device.expired_at is None  # a refusal of ours, not the push service saying it is gone


def test_a_due_reminder_to_a_rebound_name_is_a_failed_delivery(
    session: Session,
    engine: Engine,
    settings: Settings,
    sink: Sink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dns = Resolver(monkeypatch, "rebinding.push.test", "2606:4700:4700::1111", "::ffff:127.0.0.1")
    strict = settings.model_copy(update={"vapid_subject": "mailto:tests@example.org"})
    client, _assignment, reminder = client_with_reminder(session, now=START)
    subscriptions.add_subscription(
        session,
        client=client,
        data=subscription_json(f"https://rebinding.push.test:{sink.port}/phone"),
        settings=strict,
    )
    session.commit()

    stats = dispatch(Dispatcher(engine=engine, settings=strict, keys=VapidKeys.load(strict)), due_now(reminder))

    assert stats.sent == 0 and dns.calls == 2
    assert sink.received == []
    session.expire_all()
    [occurrence] = session.exec(select(ReminderOccurrence)).all()
    assert occurrence.status is OccurrenceStatus.missed and occurrence.last_error == "refused_address"
    [device] = _stored(session)
    assert device.failures == 1 and device.last_error == "refused_address"


def test_an_endpoint_stored_before_the_rules_is_not_sent_to(
    session: Session, engine: Engine, settings: Settings, sink: Sink
) -> None:
    """Rows from before (plain http on loopback, as development used to allow) fail, unsent."""
    strict = settings.model_copy(update={"vapid_subject": "mailto:tests@example.org"})
    client, _assignment, reminder = client_with_reminder(session, now=START)
    loopback = strict.model_copy(update={"push_allow_loopback": True})
    subscriptions.add_subscription(
        session, client=client, data=subscription_json(f"{sink.base}/old"), settings=loopback
    )
    session.commit()

    stats = dispatch(Dispatcher(engine=engine, settings=strict, keys=VapidKeys.load(strict)), due_now(reminder))

    assert stats.sent == 0 and sink.received == []
    [device] = _stored(session)
    assert device.failures == 1 and device.last_error == "refused_insecure"


def test_the_connection_goes_to_the_checked_address_with_the_host_name_kept(
    session: Session, engine: Engine, settings: Settings, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With loopback allowed (the test setting), a name checked as 127.0.0.1 is connected to at
    127.0.0.1 itself: a later answer (here a private address, which would be refused) is never
    asked for, and the request still names the host."""
    dns = Resolver(monkeypatch, "sink.push.test", "127.0.0.1", "127.0.0.1", "10.9.8.7")
    loopback = settings.model_copy(
        update={
            "vapid_subject": "mailto:tests@example.org",
            "push_allow_loopback": True,
        }
    )
    client, _assignment, reminder = client_with_reminder(session, now=START)
    subscriptions.add_subscription(
        session, client=client, data=subscription_json(f"http://sink.push.test:{sink.port}/phone"), settings=loopback
    )
    session.commit()

    stats = dispatch(Dispatcher(engine=engine, settings=loopback, keys=VapidKeys.load(loopback)), due_now(reminder))

    assert stats.sent == 1
    assert dns.calls == 2  # stored, then the one connection
    [(path, headers, _body)] = sink.received
    assert path == "/phone" and headers["host"] == f"sink.push.test:{sink.port}"


# --- redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_not_followed(
    session: Session, engine: Engine, settings: Settings, sink: Sink, status: int
) -> None:
    loopback = settings.model_copy(
        update={
            "vapid_subject": "mailto:tests@example.org",
            "push_allow_loopback": True,
        }
    )
    sink.script["/moved"] = [(status, {"Location": f"{sink.base}/elsewhere"}, 0.0)]
    client, _assignment, reminder = client_with_reminder(session, now=START)
    subscriptions.add_subscription(
        session, client=client, data=subscription_json(f"{sink.base}/moved"), settings=loopback
    )
    session.commit()

    stats = dispatch(Dispatcher(engine=engine, settings=loopback, keys=VapidKeys.load(loopback)), due_now(reminder))

    assert stats.sent == 0
    assert sink.hits("/moved") == 1 and sink.hits("/elsewhere") == 0
    session.expire_all()
    [occurrence] = session.exec(select(ReminderOccurrence)).all()
    assert occurrence.status is OccurrenceStatus.missed and occurrence.last_error == f"http_{status}"
    [device] = _stored(session)
    assert device.failures == 1 and device.last_error == f"http_{status}"


# --- the service, for callers other than the routes -------------------------------------------


def test_the_service_refuses_with_a_translated_message_and_stores_nothing(session: Session, settings: Settings) -> None:
    client = make_client(session)
    with pytest.raises(Invalid) as refused:
        subscriptions.add_subscription(
            session, client=client, data=subscription_json("https://[::ffff:169.254.169.254]/"), settings=settings
        )
    assert refused.value.message == NOT_PUBLIC
    assert _stored(session) == []
