"""Every request govpub makes to an address it was given goes through here.

An address from submitted content (a body's ``<img src>``) is an attacker's choice: it
may name the loopback interface, the office network, the cloud's metadata service, or
a name that resolves to one of them. The policy, for every fetch:

- http and https only, on every hop;
- the host resolved once, and *every* address it resolves to checked: loopback,
  private, link-local, multicast, reserved, unspecified, shared (100.64/10) and
  site-local addresses are refused, including IPv4 addresses inside IPv6 ones
  (``::ffff:10.0.0.1``, NAT64, 6to4, Teredo);
- the connection goes to the address that was checked (:class:`PinnedBackend`), while
  the ``Host`` header and TLS's SNI and certificate check keep the name: a DNS answer
  that changes between the check and the connect (rebinding) changes nothing;
- every redirect is a new request under the same rules, at most ``max_redirects``;
- no proxy from the environment (a proxy would resolve the name itself);
- limits while the bytes arrive: ``Content-Length`` over the limit is refused before
  the body, and the body is cut off as soon as it passes the limit; timeouts on
  connect, on each read and on the whole fetch (at most ``total`` plus one ``read``);
- ``allow`` in the configuration (``[outbound]``, see docs/operations.md) names hosts
  or networks that may be internal, for an agency whose own image host is.

Errors: :class:`FetchError` (``Refused`` by the policy, ``Failed`` on the way). Their
text is for the operator's log; a source is told only that something "could not be
fetched", never why (the reasons would make a port scanner of govpub).

Endpoints the operator configured (a CMS, an archive receiver, a WebSub hub) use
:func:`endpoint_client`: the configured host is trusted whatever its address, any other
host is checked like content.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpcore
import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SCHEMES = ("http", "https")
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, not global
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


class OutboundSettings(BaseModel):
    """``[outbound]``: the policy's allow-list and timeouts (every channel)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow: list[str] = Field(
        default_factory=list,
        description="host names or networks (10.20.0.0/16, 192.168.1.7) govpub may fetch from "
        "although they are internal: an agency's own image host",
    )
    connect_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="longest wait for a connection to a fetched address"
    )
    read_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="longest wait for the next bytes of a fetched answer"
    )
    total_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="longest time one fetch may take, redirects included"
    )
    max_redirects: int = Field(
        default=5, ge=0, le=20, description="redirects a fetch follows, each checked like the first address"
    )

    @field_validator("allow")
    @classmethod
    def _entries(cls, value: list[str]) -> list[str]:
        for entry in value:
            if _network(entry) is None and not HOST_NAME.fullmatch(entry):
                hint = "a host name (images.agency.example) or a network (10.20.0.0/16)"
                raise ValueError(f"{entry!r}: {hint}")
        return value


class FetchError(Exception):
    """A fetch that gave no bytes. ``str()`` says why, for the operator only."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url[:200]}: {reason}")
        self.url, self.reason = url, reason


class Refused(FetchError):
    """The policy refused: scheme, address, redirects or size."""


class Failed(FetchError):
    """The fetch was allowed and did not work: network, timeout, HTTP status."""


def _network(entry: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, NAT64, 6to4, Teredo)."""
    found = [address.ipv4_mapped, address.sixtofour]
    if address.teredo:
        found.extend(address.teredo)
    if any(address in net for net in NAT64):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


def is_public(address: IPAddress) -> bool:
    """Whether an address is on the public internet (and nothing it carries is not)."""
    if (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
    ):
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address not in SHARED
    return not address.is_site_local and all(is_public(v4) for v4 in embedded_ipv4(address))


@dataclass(frozen=True)
class Policy:
    """The rules of :mod:`pipeline.outbound` with their settings."""

    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[IPNetwork, ...] = ()
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_redirects: int = 5

    @classmethod
    def from_settings(cls, settings: OutboundSettings) -> Policy:
        networks = [n for n in map(_network, settings.allow) if n is not None]
        hosts = frozenset(e.lower().rstrip(".") for e in settings.allow if _network(e) is None)
        return cls(
            allow_hosts=hosts,
            allow_networks=tuple(networks),
            connect_timeout=settings.connect_timeout_seconds,
            read_timeout=settings.read_timeout_seconds,
            total_timeout=settings.total_timeout_seconds,
            max_redirects=settings.max_redirects,
        )

    def check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in SCHEMES:
            raise Refused(url, "not an http(s) address")
        if not parts.hostname:
            raise Refused(url, "no host")

    def addresses(self, host: str, port: int, trusted: Iterable[str] = ()) -> list[str]:
        """The addresses to connect to, each checked; Refused if any is not allowed."""
        name = host.lower().rstrip(".")
        try:
            infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:  # as httpx reports it: a connect error
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        found = list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))
        if name in self.allow_hosts or name in {t.lower().rstrip(".") for t in trusted}:
            return found
        for text in found:
            address = ipaddress.ip_address(text)
            if not is_public(address) and not any(address in net for net in self.allow_networks):
                raise Refused(host, f"resolves to {address}, which is not a public address")
        if not found:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        return found


@dataclass
class PinnedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to addresses the policy checked.

    httpcore asks for a TCP connection to the URL's host; this resolves it, checks
    every address and connects to one of those very addresses, so nothing is resolved
    twice. TLS is started afterwards by httpcore with the host name (SNI, certificate).
    """

    policy: Policy
    trusted: tuple[str, ...] = ()
    deadline: float | None = None
    connected: list[str] = field(default_factory=list)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in self.policy.addresses(host, port, self.trusted):
            wait = timeout if self.deadline is None else _within(timeout, self.deadline, host)
            try:
                stream = super().connect_tcp(address, port, wait, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            self.connected.append(address)
            return stream
        raise last or httpcore.ConnectError(f"no address of {host} answered")

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise Refused(path, "not an http(s) address")


def _within(timeout: float | None, deadline: float, what: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Failed(what, "took longer than the total time allowed")
    return left if timeout is None else min(timeout, left)


def pinned_transport(backend: PinnedBackend) -> httpx.HTTPTransport:
    """An httpx transport whose connections go through ``backend`` (no proxy)."""
    transport = httpx.HTTPTransport(trust_env=False)
    transport._pool = httpcore.ConnectionPool(  # the one pool, with our network backend
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=10,
        network_backend=backend,
    )
    return transport


def _timeout(policy: Policy) -> httpx.Timeout:
    return httpx.Timeout(
        connect=policy.connect_timeout,
        read=policy.read_timeout,
        write=policy.read_timeout,
        pool=policy.connect_timeout,
    )


def fetch(url: str, policy: Policy, limit: int, user_agent: str = "govpub") -> bytes:
    """GET ``url`` under the policy: its body, of at most ``limit`` bytes."""
    return _follow(url, policy, user_agent, lambda at, answer, deadline: _body(at, answer, limit, deadline))


def probe(url: str, policy: Policy, user_agent: str = "govpub") -> int:
    """The status ``url`` finally answers under the policy (redirects followed, each
    checked), without reading its body: for checking that a link resolves."""
    return _follow(url, policy, user_agent, lambda _at, answer, _deadline: answer.status_code)


def _follow(url: str, policy: Policy, user_agent: str, take: Callable[[str, httpx.Response, float], T]) -> T:
    """GET ``url``, following redirects (each one checked by the policy), and ``take``
    what the final answer gives, within the policy's total deadline."""
    deadline = time.monotonic() + policy.total_timeout
    backend = PinnedBackend(policy, deadline=deadline)
    headers = {"user-agent": user_agent, "accept-encoding": "identity"}
    with httpx.Client(
        transport=pinned_transport(backend), timeout=_timeout(policy), headers=headers, trust_env=False
    ) as client:
        for _ in range(policy.max_redirects + 1):
            policy.check_url(url)
            try:
                with client.stream("GET", url) as answer:
                    if not answer.has_redirect_location:
                        return take(url, answer, deadline)
                    url = str(answer.url.join(answer.headers["location"]))
            except httpx.HTTPError as exc:
                raise Failed(url, f"{type(exc).__name__}: {exc}") from exc
    raise Refused(url, f"more than {policy.max_redirects} redirects")


def _body(url: str, answer: httpx.Response, limit: int, deadline: float) -> bytes:
    """The body, read as it arrives and never past ``limit`` or the deadline."""
    if answer.status_code >= 400:
        raise Failed(url, f"HTTP {answer.status_code}")
    if answer.headers.get("content-encoding", "identity").lower() not in ("identity", ""):
        raise Failed(url, f"answered in {answer.headers['content-encoding']} encoding")
    declared = answer.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(url, f"larger than {limit} bytes ({declared} announced)")
    data = bytearray()
    for chunk in answer.iter_raw():  # as it arrives (a chunk_size would wait to fill it)
        data += chunk
        if len(data) > limit:
            raise Refused(url, f"larger than {limit} bytes")
        if time.monotonic() > deadline:
            raise Failed(url, "took longer than the total time allowed")
    return bytes(data)


def endpoint_client(url: str, policy: Policy, **kwargs: Any) -> httpx.Client:
    """An httpx client for an endpoint the operator configured: its host is trusted
    whatever its address; every other host (a redirect, an absolute link) is checked."""
    policy.check_url(url)
    host = urlsplit(url).hostname or ""
    backend = PinnedBackend(policy, trusted=(host,))
    return httpx.Client(transport=pinned_transport(backend), trust_env=False, **kwargs)
