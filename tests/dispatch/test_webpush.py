"""The send path (app/dispatch/webpush.py) against the loopback sink: what pywebpush puts on the
wire decrypts as a browser would, with the headers a push service needs; one connection and one
VAPID token serve many messages; nothing unsafe leaves; proxies come from the environment."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import ssl
import tempfile
from pathlib import Path

import http_ece
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from py_vapid import Vapid

from app.dispatch.vapid import TOKEN_LIFETIME, VapidKeys, VapidSigner
from app.dispatch.webpush import MAX_PAYLOAD, Outcome, PushResult, PushSender, Target, classify
from app.services.push_endpoints import EndpointRules
from tests import aio
from tests.dispatch.conftest import Sink

LOOPBACK = EndpointRules(allow_loopback=True)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _browser() -> tuple[ec.EllipticCurvePrivateKey, bytes, Target]:
    """A browser's subscription keys, with the private half a real browser keeps to itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    auth = os.urandom(16)
    raw = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return key, auth, Target("", _b64(raw), _b64(auth))


def _send_all(sender: PushSender, *sends: tuple[Target, bytes, str | None]) -> list[PushResult]:
    async def main() -> list[PushResult]:
        try:
            return [
                await sender.send(target, payload, ttl=600, urgency="high", topic=topic)
                for target, payload, topic in sends
            ]
        finally:
            await sender.aclose()

    return aio.run(main())


def test_a_message_decrypts_for_its_device_with_the_headers_a_push_service_needs(sink: Sink) -> None:
    keys = VapidKeys.generate("mailto:tests@example.org")
    sender = PushSender(VapidSigner(keys), timeout=5, rules=LOOPBACK)
    key, auth, target = _browser()
    target = Target(f"{sink.base}/phone", target.p256dh, target.auth)
    messages = [b'{"title":"Between","n":1}', b'{"title":"Between","n":2}']

    results = _send_all(sender, (target, messages[0], "a" * 32), (target, messages[1], None))

    assert [result.outcome for result in results] == [Outcome.delivered, Outcome.delivered]
    assert [path for path, _headers, _body in sink.received] == ["/phone", "/phone"]
    for (_path, headers, body), sent in zip(sink.received, messages, strict=True):
        assert http_ece.decrypt(body, private_key=key, auth_secret=auth, version="aes128gcm") == sent
        assert headers["content-encoding"] == "aes128gcm"
        assert headers["ttl"] == "600" and headers["urgency"] == "high"
        authorization = headers["authorization"]
        assert Vapid.verify(authorization)  # signed by the key the browser subscribed with
        assert authorization.endswith(f",k={keys.public_key}")
        token = authorization.split("t=", 1)[1].split(",", 1)[0]
        claims = json.loads(_unb64(token.split(".")[1]))
        assert claims["aud"] == sink.base and claims["sub"] == "mailto:tests@example.org"
    assert sink.received[0][1]["topic"] == "a" * 32 and "topic" not in sink.received[1][1]
    assert sink.connections == 1  # kept alive for the second message
    assert sender.signer.signatures == 1  # one token for the origin, reused


def test_the_largest_message_fits_the_4096_octets_a_push_service_takes(sink: Sink) -> None:
    sender = PushSender(VapidSigner(VapidKeys.generate("mailto:tests@example.org")), timeout=5, rules=LOOPBACK)
    key, auth, keys = _browser()
    largest = b"x" * MAX_PAYLOAD

    results = _send_all(
        sender,
        (Target(f"{sink.base}/phone", keys.p256dh, keys.auth), largest, None),
        (Target(f"{sink.base}/phone", keys.p256dh, keys.auth), largest + b"x", None),
    )

    assert [(result.outcome, result.error) for result in results] == [
        (Outcome.delivered, None),
        (Outcome.failed, "too_large"),
    ]
    [(_path, _headers, body)] = sink.received
    assert len(body) <= 4096
    assert http_ece.decrypt(body, private_key=key, auth_secret=auth, version="aes128gcm") == largest


def test_the_vapid_token_is_one_per_origin_and_renewed_an_hour_before_it_expires() -> None:
    signer = VapidSigner(VapidKeys.generate("mailto:tests@example.org"))
    start = 1_800_000_000.0
    first = signer.authorization("https://fcm.googleapis.com/fcm/send/a", now=start)
    assert signer.authorization("https://fcm.googleapis.com/fcm/send/b", now=start + TOKEN_LIFETIME - 3601) == first
    other = signer.authorization("https://web.push.apple.com/x", now=start)
    assert other != first and signer.signatures == 2
    renewed = signer.authorization("https://fcm.googleapis.com/fcm/send/a", now=start + TOKEN_LIFETIME - 3599)
    assert renewed != first and signer.signatures == 3
    claims = json.loads(_unb64(renewed.split("t=", 1)[1].split(",", 1)[0].split(".")[1]))
    assert claims["exp"] == int(start + TOKEN_LIFETIME - 3599) + TOKEN_LIFETIME


def test_header_injection_unusable_keys_and_oversized_messages_are_refused_unsent(sink: Sink) -> None:
    sender = PushSender(VapidSigner(VapidKeys.generate("mailto:tests@example.org")), timeout=5, rules=LOOPBACK)
    _key, _auth, good = _browser()
    target = Target(f"{sink.base}/phone", good.p256dh, good.auth)

    async def main() -> list[PushResult]:
        try:
            return [
                await sender.send(target, b"{}", ttl=60, topic="a\r\nX-Evil: 1"),
                await sender.send(target, b"{}", ttl=60, topic="x" * 33),
                await sender.send(target, b"{}", ttl=60, urgency="high\r\nX-Evil: 1"),
                await sender.send(Target(target.endpoint, "not-a-key", good.auth), b"{}", ttl=60),
                await sender.send(Target(target.endpoint, good.p256dh, _b64(b"short")), b"{}", ttl=60),
                await sender.send(target, b"x" * 4000, ttl=60),
                await sender.send(Target(f"{sink.base}/a\r\nX-Evil: 1", good.p256dh, good.auth), b"{}", ttl=60),
                await sender.send(Target("https://[2606:4700:4700::1111]/x", good.p256dh, good.auth), b"{}", ttl=60),
            ]
        finally:
            await sender.aclose()

    results = aio.run(main())

    assert [(result.outcome, result.error) for result in results] == [
        (Outcome.failed, "bad_header"),
        (Outcome.failed, "bad_header"),
        (Outcome.failed, "bad_header"),
        (Outcome.failed, "bad_keys"),
        (Outcome.failed, "bad_keys"),
        (Outcome.failed, "too_large"),
        (Outcome.failed, "refused_malformed"),
        (Outcome.failed, "vapid_audience"),
    ]
    assert sink.received == [] and sink.connections == 0


def test_retry_after_is_read_as_seconds_or_as_a_date() -> None:
    assert classify(429, "120").retry_after == 120.0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    from_date = classify(503, later.strftime("%a, %d %b %Y %H:%M:%S GMT")).retry_after
    assert from_date is not None and 500 < from_date <= 600
    assert classify(503, "soon").retry_after is None
    assert classify(410).outcome is Outcome.gone and classify(404).outcome is Outcome.gone
    assert classify(413).outcome is Outcome.failed and classify(201).outcome is Outcome.delivered


def test_a_proxy_from_the_environment_carries_the_request(sink: Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sink stands in for a forward proxy: a request through a proxy names the whole URL."""
    monkeypatch.setenv("HTTP_PROXY", sink.base)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    sender = PushSender(VapidSigner(VapidKeys.generate("mailto:tests@example.org")), timeout=5, rules=LOOPBACK)
    _key, _auth, keys = _browser()

    [result] = _send_all(sender, (Target("http://push.example.org:8088/phone", keys.p256dh, keys.auth), b"{}", None))

    assert result.outcome is Outcome.delivered
    [(path, headers, _body)] = sink.received
    assert path == "http://push.example.org:8088/phone" and headers["host"] == "push.example.org:8088"


def test_the_proxy_is_decided_per_push_service_and_remembered(sink: Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    """One lookup per origin serves every later message to it: a service named in NO_PROXY
    stays direct, every other goes through the proxy, message after message."""
    monkeypatch.setenv("HTTP_PROXY", sink.base)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.delenv("no_proxy", raising=False)
    sender = PushSender(VapidSigner(VapidKeys.generate("mailto:tests@example.org")), timeout=5, rules=LOOPBACK)
    _key, _auth, keys = _browser()
    proxied, direct = "http://push.example.org:8088/phone", f"{sink.base}/tablet?x=1"

    results = _send_all(
        sender, *((Target(endpoint, keys.p256dh, keys.auth), b"{}", None) for endpoint in (proxied, direct) * 2)
    )

    assert [result.outcome for result in results] == [Outcome.delivered] * 4
    assert [path for path, _headers, _body in sink.received] == [proxied, "/tablet?x=1"] * 2


def test_a_proxy_on_the_private_network_is_used_under_the_strict_rules(
    sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoint rules refuse loopback and private push services, not the operator's proxy:
    a proxy named in the environment is connected to, and asked to tunnel to the push service.
    (The sink is no real proxy: it refuses the tunnel, which is a network failure.)"""
    monkeypatch.setenv("HTTPS_PROXY", f"http://localhost:{sink.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    sink.script["push.example.org:443"] = [(403, {}, 0.0)]
    sender = PushSender(VapidSigner(VapidKeys.generate("mailto:tests@example.org")), timeout=5, rules=EndpointRules())
    _key, _auth, keys = _browser()

    [result] = _send_all(sender, (Target("https://push.example.org/phone", keys.p256dh, keys.auth), b"{}", None))

    assert (result.outcome, result.error) == (Outcome.retry, "network")
    assert sink.received[0][0] == "push.example.org:443"  # CONNECT push.example.org:443 HTTP/1.1


def _untrusted_tls() -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        Path(folder, "key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(Path(folder, "cert.pem"), Path(folder, "key.pem"))
    return context


def test_a_certificate_the_system_does_not_trust_is_not_sent_to() -> None:
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append(await reader.read(100))
        writer.close()

    async def main() -> PushResult:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=_untrusted_tls())
        port = server.sockets[0].getsockname()[1]
        sender = PushSender(VapidSigner(VapidKeys.generate("mailto:tests@example.org")), timeout=5, rules=LOOPBACK)
        _key, _auth, keys = _browser()
        async with server:
            try:
                return await sender.send(
                    Target(f"https://localhost:{port}/phone", keys.p256dh, keys.auth), b"{}", ttl=60
                )
            finally:
                await sender.aclose()

    result = aio.run(main())

    assert (result.outcome, result.error) == (Outcome.retry, "network")
    assert not any(requests)  # the handshake failed: no request was written
