"""Keeping the tests on loopback: a connect guard and a resolver stub.

These machines may send nothing beyond loopback, not even to prove that govpub
refuses to: a test of a refusal must never depend on the refusal happening over the
network. :class:`ConnectGuard` records (and stops) every attempt to connect a socket
to an address that is not loopback, so a test fails when one was tried;
:class:`FakeDNS` answers names from a table (``metadata.test`` → 169.254.169.254), so
refusals by resolved address are proved without asking any DNS server.
Both are fixtures in tests/conftest.py (``connect_guard`` for every test), and
tests/netguard_site installs both in the govpub processes a test starts.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the guard also runs outside pytest (tests/netguard_site)
    import pytest

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host.lower() in LOCAL_NAMES
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class ConnectGuard:
    """Every ``socket.connect`` to a non-loopback address is recorded and refused."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("connect", "connect_ex"):
            original = getattr(socket.socket, name)
            monkeypatch.setattr(socket.socket, name, self._guarded(original))

    def _guarded(self, original: Callable[..., Any]) -> Callable[..., Any]:
        guard = self

        def connect(sock: socket.socket, address: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(str(address[0])):
                guard.attempts.append(f"{address[0]}:{address[1]}")
                raise ConnectionRefusedError(f"test connect guard: {address[0]} is not loopback")
            return original(sock, address)

        return connect


class FakeDNS:
    """``socket.getaddrinfo`` answering from ``names``; IP literals and localhost as
    usual; any other name is unknown (never sent to a real resolver)."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = {k.lower(): v for k, v in names.items()}
        self.asked: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else str(host)
            self.asked.append(name)
            if name.lower().rstrip(".") in self.names:
                return [_info(a, port) for a in self.names[name.lower().rstrip(".")]]
            if is_loopback(name) or _literal(name):
                return real(host, port, *args, **kwargs)
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: unknown to the test resolver")

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _info(address: str, port: Any) -> tuple[Any, ...]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sockaddr = (address, int(port or 0), 0, 0) if family == socket.AF_INET6 else (address, int(port or 0))
    return (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)
