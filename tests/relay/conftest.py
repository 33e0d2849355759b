"""A relay on a free loopback port, and applications to send as."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from postroom.applications.credentials import create_application
from postroom.relay import server as relay_server
from postroom.relay.service import RelayServer

SENDER = "shop@example.org"


def insecure_context() -> ssl.SSLContext:
    """The relay's certificate is generated in Development: trust it for the test."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def message(subject: str = "Hello", sender: str = SENDER, to: str = "ann@example.net") -> bytes:
    return (
        f"From: Shop <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@example.org>\r\n\r\nHello from the shop.\r\n"
    ).encode()


@pytest.fixture
def application() -> tuple[Any, str]:
    """An application that may send as example.org: (application, secret)."""
    return create_application("Shop", ["example.org"])


@pytest.fixture
def relay_with(tmp_path: Path) -> Iterator[Callable[..., RelayServer]]:
    started: list[RelayServer] = []

    def start(tls_port: int | None = None, **limits: Any) -> RelayServer:
        server = RelayServer(
            "127.0.0.1",
            0,
            tls_port=tls_port,
            tls_dir=tmp_path / "relay-tls",
            spool_dir=tmp_path / "relay-spool",
            limits=relay_server.limits(**limits),
        )
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def relay(relay_with) -> RelayServer:
    return relay_with()


@pytest.fixture
def logged_in(relay, application) -> Iterator[smtplib.SMTP]:
    """smtplib after STARTTLS and AUTH as the application."""
    app, secret = application
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.starttls(context=insecure_context())
        client.login(app.username, secret)
        yield client
