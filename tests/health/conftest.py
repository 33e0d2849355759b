"""Fixtures for the health checks: SMTP settings in the environment, a DNS server, a clean cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from health.dnsserver import DnsServer

SMTP = "Umbraco__CMS__Global__Smtp__"


@pytest.fixture(autouse=True)
def fresh_probe_cache() -> Iterator[None]:
    from postroom.health.probecache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def production(monkeypatch) -> None:
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")


@pytest.fixture
def configure_smtp(monkeypatch) -> Callable[..., None]:
    """``configure_smtp(host=..., port=..., security=..., username=..., password=..., ...)``
    sets the SMTP settings through environment variables, as a site owner might."""
    names = {
        "host": SMTP + "Host",
        "port": SMTP + "Port",
        "security": SMTP + "SecureSocketOptions",
        "username": SMTP + "Username",
        "password": SMTP + "Password",
        "sender": SMTP + "From",
        "ca_file": "Postroom__Smtp__CaFile",
        "timeout": "Postroom__Health__TimeoutSeconds",
    }

    def configure(sender: str = "website@postroom.test", **values: object) -> None:
        monkeypatch.setenv(names["sender"], sender)
        for key, value in values.items():
            monkeypatch.setenv(names[key], str(value))

    return configure


@pytest.fixture
def dns_server(monkeypatch) -> Iterator[Callable[[dict[str, list[str]]], DnsServer]]:
    """``dns_server({"name": ["txt", ...]})`` starts a DNS server on loopback and points
    Postroom:Health:DnsServer at it."""
    servers: list[DnsServer] = []

    def start(txt: dict[str, list[str]]) -> DnsServer:
        server = DnsServer(txt).start()
        servers.append(server)
        monkeypatch.setenv("Postroom__Health__DnsServer", server.address)
        return server

    yield start
    for server in servers:
        server.stop()
