"""The outbound-fetch policy (pipeline/outbound.py) against a loopback listener.

Refusals are proved with the resolver stub (names mapped to private and metadata
addresses) under the suite's connect guard: a connect beyond loopback fails the test,
so nothing here ever leaves the machine. The allowed path is an allow-listed loopback
listener."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.outbound import Failed, FetchError, OutboundSettings, Policy, Refused, endpoint_client, fetch
from tests.listener import Listener
from tests.netguard import ConnectGuard, FakeDNS

LIMIT = 1024 * 1024
FORBIDDEN = {
    "metadata": "169.254.169.254",
    "private-10": "10.0.0.7",
    "private-172": "172.16.5.4",
    "private-192": "192.168.1.1",
    "shared-cgnat": "100.64.0.1",
    "loopback": "127.0.0.1",
    "loopback-other": "127.1.2.3",
    "unspecified": "0.0.0.0",
    "multicast": "224.0.0.251",
    "reserved": "240.0.0.1",
    "broadcast": "255.255.255.255",
    "v6-loopback": "::1",
    "v6-link-local": "fe80::1",
    "v6-unique-local": "fd00::1",
    "v6-site-local": "fec0::1",
    "v6-multicast": "ff02::1",
    "v4-mapped-private": "::ffff:10.0.0.1",
    "v4-mapped-metadata": "::ffff:169.254.169.254",
    "nat64-metadata": "64:ff9b::a9fe:a9fe",
    "6to4-private": "2002:0a00:0001::1",
}


@pytest.fixture
def site() -> Iterator[Listener]:
    with Listener() as listener:
        yield listener


@pytest.fixture
def dns(fake_dns: Callable[[dict[str, list[str]]], FakeDNS]) -> FakeDNS:
    names = {f"{name}.test": [address] for name, address in FORBIDDEN.items()}
    names["mixed.test"] = ["93.184.216.34", "10.0.0.7"]  # one public answer, one private
    names["images.agency.test"] = ["127.0.0.1"]
    return fake_dns(names)


def policy(**settings: Any) -> Policy:
    return Policy.from_settings(OutboundSettings(**settings))


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_a_name_resolving_to_an_internal_address_is_refused_before_any_connect(
    dns: FakeDNS, connect_guard: ConnectGuard, name: str
) -> None:
    with pytest.raises(Refused, match="not a public address"):
        fetch(f"http://{name}.test/image.png", policy(), LIMIT)
    assert connect_guard.attempts == [] and dns.asked == [f"{name}.test"]


def test_every_answer_of_a_name_is_checked(dns: FakeDNS) -> None:
    with pytest.raises(Refused, match=r"10\.0\.0\.7"):
        fetch("https://mixed.test/image.png", policy(), LIMIT)


@pytest.mark.parametrize("address", ["127.0.0.1", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1", "[::1]"])
def test_a_loopback_address_written_any_way_is_refused(site: Listener, address: str) -> None:
    with pytest.raises(FetchError):
        fetch(f"http://{address}:{site.port}/image.png", policy(), LIMIT)
    assert site.connections == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://ftp.test/a.png", "gopher://x.test/", "//x"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(Refused):
        fetch(url, policy(), LIMIT)


def test_an_allow_listed_loopback_listener_is_fetched(site: Listener) -> None:
    assert fetch(site.url(), policy(allow=["127.0.0.1"]), LIMIT) == site.image
    assert fetch(site.url(), policy(allow=["127.0.0.0/8"]), LIMIT) == site.image
    assert site.connections == 2


def test_an_allow_listed_host_name_keeps_its_host_header(site: Listener, dns: FakeDNS) -> None:
    url = site.url(host="images.agency.test")
    assert fetch(url, policy(allow=["images.agency.test"]), LIMIT) == site.image
    assert site.requests == [("/image.png", f"images.agency.test:{site.port}")]


def test_the_connect_goes_to_the_address_that_was_checked(
    site: Listener, monkeypatch: pytest.MonkeyPatch, connect_guard: ConnectGuard
) -> None:
    """DNS rebinding: the name's first answer is allowed, every later one is the
    metadata service. The name is looked up once, and the connection goes to the
    address that was checked (an address literal resolves to itself, as with real DNS)."""
    answers = iter(["127.0.0.1"])
    asked: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host) == "127.0.0.1":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", int(port)))]
        asked.append(str(host))
        address = next(answers, "169.254.169.254")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = site.url(host="rebind.test")
    assert fetch(url, policy(allow=["127.0.0.0/8"]), LIMIT) == site.image
    assert asked == ["rebind.test"] and connect_guard.attempts == []


def test_every_redirect_is_checked_again(site: Listener, dns: FakeDNS) -> None:
    allowed = policy(allow=["127.0.0.1"])
    for target in ("http://metadata.test/latest/meta-data/", "file:///etc/passwd", "http://[::1]:1/"):
        with pytest.raises(Refused):
            fetch(site.url(f"/redirect?to={target}"), allowed, LIMIT)
    with pytest.raises(Refused, match="redirects"):
        fetch(site.url("/loop"), allowed, LIMIT)
    # a redirect to where the policy allows is followed
    assert fetch(site.url(f"/redirect?to={site.url()}"), allowed, LIMIT) == site.image


def test_an_allowed_host_may_not_redirect_to_an_internal_one(site: Listener, dns: FakeDNS) -> None:
    """The allow-list names a host, not whatever it points at."""
    target = f"http://private-10.test:{site.port}/image.png"
    with pytest.raises(Refused, match=r"10\.0\.0\.7"):
        fetch(site.url(f"/redirect?to={target}"), policy(allow=["127.0.0.1"]), LIMIT)


def test_the_size_limit_holds_while_the_bytes_arrive(site: Listener) -> None:
    allowed = policy(allow=["127.0.0.1"])
    with pytest.raises(Refused, match="announced"):
        fetch(site.url("/declared-huge"), allowed, LIMIT)
    with pytest.raises(Refused, match="larger than"):
        fetch(site.url("/endless"), allowed, LIMIT)


def test_a_hanging_or_dripping_server_times_out(site: Listener) -> None:
    quick = policy(allow=["127.0.0.1"], read_timeout_seconds=0.3, total_timeout_seconds=1.0)
    with pytest.raises(Failed, match="Timeout"):
        fetch(site.url("/hang"), quick, LIMIT)
    with pytest.raises(Failed, match="total time"):
        fetch(site.url("/drip"), quick, LIMIT)


def test_errors_are_failures_not_refusals(site: Listener, dns: FakeDNS) -> None:
    allowed = policy(allow=["127.0.0.1"])
    with pytest.raises(Failed, match="HTTP 404"):
        fetch(site.url("/missing.png"), allowed, LIMIT)
    with pytest.raises(Failed, match="cannot resolve"):
        fetch("http://nowhere.test/image.png", allowed, LIMIT)


@pytest.mark.parametrize("entry", ["http://x", "10.0.0.0/33", "a b", "user@host", ""])
def test_a_bad_allow_list_entry_stops_start_up(settings_for: Any, entry: str) -> None:
    from pipeline.config import load_settings

    with pytest.raises(ConfigError, match="GOVPUB_OUTBOUND__ALLOW"):
        load_settings(outbound={"allow": [entry]})
    assert isinstance(settings_for(outbound={"allow": ["10.20.0.0/16", "img.gov.test"]}), Settings)


def test_an_endpoint_the_operator_configured_is_trusted_and_nothing_else(
    site: Listener, dns: FakeDNS
) -> None:
    """A CMS, an archive receiver or a WebSub hub on the office network is the
    operator's choice; the same client still refuses any other internal host."""
    with endpoint_client(site.url("/"), policy()) as client:
        assert client.get(site.url()).content == site.image
        with pytest.raises(Refused):
            client.get("http://metadata.test/latest/meta-data/")
    with pytest.raises(Refused):
        endpoint_client("file:///var/run/docker.sock", policy())
