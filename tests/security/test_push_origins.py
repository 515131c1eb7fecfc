"""The endpoint rule judges a push service once, not each device: `check_url` is the character
check plus `check_origin` of the endpoint's origin. Held equal to the rule as it was written for
whole URLs (kept here as the reference) for any URL Hypothesis can build, so a sender's cache per
origin (app/dispatch/webpush.py) can never let through an endpoint the rule refuses."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.push_endpoints import (
    INSECURE,
    MALFORMED,
    NOT_ALLOWED,
    Endpoint,
    EndpointRules,
    RefusedEndpoint,
    _host_name,
    has_unsafe_characters,
    origin_of,
    parse_address,
)


def reference_check_url(rules: EndpointRules, endpoint: str) -> Endpoint:
    """`EndpointRules.check_url` before it was split by origin, unchanged."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise RefusedEndpoint(MALFORMED) from None
    host = (parts.hostname or "").rstrip(".")
    if not host or port == 0 or "@" in parts.netloc or any(ch in endpoint for ch in "\r\n\t\\ "):
        raise RefusedEndpoint(MALFORMED)
    address = parse_address(host)
    if address is None and ("[" in parts.netloc or not _host_name(host)):
        raise RefusedEndpoint(MALFORMED)
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and rules.allow_loopback):
        raise RefusedEndpoint(INSECURE)
    if rules.allowed_hosts and not any(host == suffix or host.endswith("." + suffix) for suffix in rules.allowed_hosts):
        raise RefusedEndpoint(NOT_ALLOWED)
    if address is not None:
        rules.check_addresses(scheme, [address])
    return Endpoint(scheme, host, port or (443 if scheme == "https" else 80))


def verdict(check: object, rules: EndpointRules, endpoint: str) -> Endpoint | str:
    try:
        return check(rules, endpoint)  # type: ignore[operator,no-any-return]
    except RefusedEndpoint as refused:
        return refused.reason


RULES = [
    EndpointRules(),
    EndpointRules(allow_loopback=True),
    EndpointRules(allowed_hosts=("push.example.org", "googleapis.com")),
]
PIECES = st.sampled_from(
    [
        "https", "http", "HTTPS", "ftp", ":", "//", "/", "?", "#", "@", "[", "]", ".", "-", "%", "\\", " ", "\t",
        "\r\n", "\x01", "127.0.0.1", "10.0.0.1", "[::1]", "[2001:db8::1]", "[fe80::1%25eth0]", "localhost",
        "push.example.org", "fcm.googleapis.com", "ex_ample.org", "é.example", ":443", ":0", ":8080", ":99999",
        "user:pw@", "a", "x=1", "push/abc",
    ]
)  # fmt: skip
URLS = st.one_of(
    st.lists(PIECES, max_size=12).map("".join),
    st.builds("{}://{}".format, st.sampled_from(["https", "http"]), st.lists(PIECES, max_size=8).map("".join)),
    st.text(max_size=40),
)


@settings(max_examples=600, deadline=None)
@given(url=URLS, rules=st.sampled_from(RULES))
def test_checking_by_origin_judges_every_url_as_the_whole_url_rule_did(url: str, rules: EndpointRules) -> None:
    expected = verdict(reference_check_url, rules, url)
    assert verdict(EndpointRules.check_url, rules, url) == expected
    if not has_unsafe_characters(url):  # a sender refuses those before it looks at the origin
        assert verdict(EndpointRules.check_origin, rules, origin_of(url)) == expected


@pytest.mark.parametrize(
    ("endpoint", "origin"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc:def", "https://fcm.googleapis.com"),
        ("https://web.push.apple.com:443/QH?x=1", "https://web.push.apple.com:443"),
        ("http://127.0.0.1:8080?token=1", "http://127.0.0.1:8080"),
        ("https://[2001:db8::1]:8443#frag", "https://[2001:db8::1]:8443"),
        ("https://push.example.org", "https://push.example.org"),
    ],
)
def test_an_endpoints_origin_is_its_scheme_and_authority_as_written(endpoint: str, origin: str) -> None:
    assert origin_of(endpoint) == origin
