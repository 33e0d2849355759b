"""Fixtures around the real test servers in ``tests/smtpservers.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from smtpservers import (
    BlackholeListener,
    Certificates,
    SilentListener,
    SmtpServer,
    SmtpSink,
    free_port,
)


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A test CA; ``certificates.ca_file`` is its PEM, ``server_context()`` signs a server."""
    return Certificates.create(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    """``smtp_server(**options)`` starts an :class:`SmtpServer`; all stop after the test."""
    servers: list[SmtpServer] = []

    def start(**options: Any) -> SmtpServer:
        server = SmtpServer(**options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_sink() -> Iterator[Callable[..., SmtpSink]]:
    """``smtp_sink(**options)`` starts Postfix's smtp-sink; skips if it cannot run here."""
    reason = SmtpSink.unavailable()
    if reason:
        pytest.skip(reason)
    sinks: list[SmtpSink] = []

    def start(**options: Any) -> SmtpSink:
        sink = SmtpSink(**options).start()
        sinks.append(sink)
        return sink

    yield start
    for sink in sinks:
        sink.stop()


@pytest.fixture
def silent_listener() -> Iterator[SilentListener]:
    """A port that accepts connections and never says a word."""
    with SilentListener() as listener:
        yield listener


@pytest.fixture
def blackhole_listener() -> Iterator[BlackholeListener]:
    """A port where connecting hangs until the client's connect timeout."""
    with BlackholeListener() as listener:
        yield listener


@pytest.fixture
def refused_port() -> int:
    """A port on 127.0.0.1 with nothing listening."""
    return free_port()
