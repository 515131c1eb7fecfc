"""Which push endpoints Between stores and connects to: the one rule against request forgery.

A push subscription's endpoint is a URL chosen by whoever registers the device, and the
dispatcher POSTs to it. Unchecked, that lets anyone with a client account make the server
send requests to itself or to its private network (a database port on 127.0.0.1, a cloud
metadata service on 169.254.169.254, an admin page on 10.x). So an endpoint must be:

- `https`, with a host name or address and nothing else in the authority (no user:password@);
- on a host whose addresses are all public: not loopback, private, link-local, shared
  (CGNAT 100.64/10), multicast, reserved, unspecified, unique-local (fc00::/7), site-local,
  documentation or benchmarking ranges, nor an IPv6 form of any of these (IPv4-mapped,
  NAT64, 6to4);
- when the allow-list is on (the default in production), on one of the known push services
  (`push_allowed_hosts`, by default `DEFAULT_PUSH_HOSTS` in app/core/settings.py) or a subdomain of one.

The rule is applied twice: when a subscription is stored (`check_for_storing`), and every
time the sender opens a connection (`resolve_for_connecting`), because a name that resolved to
a public address when it was stored may resolve to 127.0.0.1 later (DNS rebinding). The sender
connects to the very addresses that were checked, never resolving the name a second time.

`allow_loopback` (a test setting, refused in production) also admits loopback addresses,
and plain `http` to them: the test push services listen on 127.0.0.1.

Nothing here knows about HTTP frameworks or translations: callers turn `RefusedEndpoint.reason`
into their own words (app/services/reminders/__init__.py) or a delivery outcome (app/dispatch/webpush.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from app.core.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Reasons a URL or an address is refused (RefusedEndpoint.reason).
MALFORMED = "malformed"  # no valid host name or address, port 0, credentials or line breaks in it
INSECURE = "insecure"  # not https (or http to a non-loopback host when loopback is allowed)
NOT_ALLOWED = "not_allowed"  # the allow-list is on and the host is not a known push service
ADDRESS = "address"  # the host is, or resolves to, an address that is not public
UNRESOLVED = "unresolved"  # the host name does not resolve (only refused when it must be checked)

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
_IETF_PROTOCOL = ipaddress.ip_network("192.0.0.0/24")  # RFC 6890
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix, RFC 6052
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64, RFC 8215
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")


class RefusedEndpoint(ValueError):
    """The endpoint (or one of its addresses) may not be stored or connected to."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"push endpoint refused: {reason}")
        self.reason = reason


def _ipv4_public(ip: ipaddress.IPv4Address) -> bool:
    return not (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in _SHARED
        or ip in _IETF_PROTOCOL
    )


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (IPv4-mapped, NAT64, 6to4), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def _ipv6_public(ip: ipaddress.IPv6Address) -> bool:
    return not (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_site_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in _UNIQUE_LOCAL
        or ip in _NAT64_LOCAL
    )


def is_public(ip: IPAddress) -> bool:
    """Whether an address is on the public internet (see the module's docstring)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return _ipv4_public(embedded)
        return _ipv6_public(ip)
    return _ipv4_public(ip)


def is_loopback(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def _host_name(host: str) -> bool:
    """Whether `host` is a DNS name (international names in their ASCII form)."""
    try:
        name = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return False
    return len(name) <= 253 and all(_LABEL.fullmatch(label) for label in name.split("."))


def parse_address(text: str) -> IPAddress | None:
    """An IP address written as such (brackets and an IPv6 zone allowed), else None."""
    text = text.strip("[]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


# Refused anywhere in an endpoint: they could end a header line or hide part of the URL.
_UNSAFE_CHARACTERS = frozenset("\r\n\t\\ ")


def has_unsafe_characters(endpoint: str) -> bool:
    return not _UNSAFE_CHARACTERS.isdisjoint(endpoint)


def origin_of(endpoint: str) -> str:
    """`scheme://authority` of an endpoint as written: the URL up to its path, query or
    fragment, cut where `urlsplit` ends the authority."""
    start = endpoint.find("//") + 2
    ends = [at for at in (endpoint.find(mark, start) for mark in "/?#") if at >= 0]
    return endpoint[: min(ends)] if ends else endpoint


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str  # lower case, without brackets or a trailing dot
    port: int


@dataclass(frozen=True)
class EndpointRules:
    """The rule, with the settings that shape it. The default is the strictest one."""

    allowed_hosts: tuple[str, ...] = ()  # empty: any public host
    allow_loopback: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> EndpointRules:
        return cls(
            allowed_hosts=tuple(settings.push_allowed_hosts) if settings.push_host_allowlist else (),
            allow_loopback=settings.push_allow_loopback,
        )

    # --- the URL itself ----------------------------------------------------------------------

    def check_url(self, endpoint: str) -> Endpoint:
        """What can be said without resolving: scheme, host, the allow-list, and an address
        written in the URL. Raises RefusedEndpoint."""
        if has_unsafe_characters(endpoint):
            raise RefusedEndpoint(MALFORMED)
        return self.check_origin(origin_of(endpoint))

    def check_origin(self, origin: str) -> Endpoint:
        """`check_url` for every endpoint of `origin` (`origin_of`) without unsafe characters:
        nothing it judges lies past the authority, so a sender checks each push service once,
        not each device. Raises RefusedEndpoint."""
        try:
            parts = urlsplit(origin)
            port = parts.port
        except ValueError:
            raise RefusedEndpoint(MALFORMED) from None
        host = (parts.hostname or "").rstrip(".")
        if not host or port == 0 or "@" in parts.netloc:
            raise RefusedEndpoint(MALFORMED)
        address = parse_address(host)
        if address is None and ("[" in parts.netloc or not _host_name(host)):
            raise RefusedEndpoint(MALFORMED)
        scheme = parts.scheme.lower()
        if scheme != "https" and not (scheme == "http" and self.allow_loopback):
            raise RefusedEndpoint(INSECURE)
        if self.allowed_hosts and not any(
            host == suffix or host.endswith("." + suffix) for suffix in self.allowed_hosts
        ):
            raise RefusedEndpoint(NOT_ALLOWED)
        if address is not None:
            self.check_addresses(scheme, [address])
        return Endpoint(scheme, host, port or (443 if scheme == "https" else 80))

    # --- the addresses -----------------------------------------------------------------------

    def check_addresses(self, scheme: str, addresses: Iterable[IPAddress]) -> None:
        """Every address must be public (or loopback, when allowed; plain http only to loopback)."""
        for ip in addresses:
            loopback = self.allow_loopback and is_loopback(ip)
            if scheme != "https" and not loopback:
                raise RefusedEndpoint(INSECURE)
            if not loopback and not is_public(ip):
                raise RefusedEndpoint(ADDRESS)

    def _checked(self, endpoint: Endpoint, infos: Iterable[tuple[Any, ...]]) -> list[str]:
        addresses: list[str] = []
        for info in infos:
            text = str(info[4][0])
            if text not in addresses:
                addresses.append(text)
        parsed = [parse_address(text) for text in addresses]
        if not addresses or any(ip is None for ip in parsed):
            raise RefusedEndpoint(UNRESOLVED)
        self.check_addresses(endpoint.scheme, [ip for ip in parsed if ip is not None])
        return addresses

    def check_for_storing(self, endpoint: str) -> Endpoint:
        """The check before a subscription is stored: the URL, then every address the host
        resolves to now. A name that does not resolve at the moment is accepted over https (a
        browser's push service may be briefly unreachable; every connection checks it again)."""
        parsed = self.check_url(endpoint)
        try:
            infos = socket.getaddrinfo(parsed.host, parsed.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            if parsed.scheme != "https":
                raise RefusedEndpoint(UNRESOLVED) from None
            return parsed
        self._checked(parsed, infos)
        return parsed

    async def resolve_for_connecting(self, scheme: str, host: str, port: int) -> list[str]:
        """The addresses to connect to, every one of them checked, resolved once here so the
        connection cannot end up somewhere a second answer points. Raises RefusedEndpoint,
        or OSError when the name does not resolve."""
        parsed = Endpoint(scheme, host.strip("[]").rstrip(".").lower(), port)
        written = parse_address(parsed.host)
        if written is not None:  # an address in the URL: nothing to look up
            self.check_addresses(scheme, [written])
            return [parsed.host]
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(parsed.host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        return self._checked(parsed, infos)
