"""Fixtures shared by every test module."""

from __future__ import annotations

import os
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


@pytest.fixture(autouse=True)
def isolated_site(tmp_path, monkeypatch):
    """Every test reads settings from its own empty site directory, in Development."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setenv("POSTROOM_SITE", str(site))
    monkeypatch.delenv("POSTROOM_ENVIRONMENT", raising=False)
    monkeypatch.delenv("POSTROOM_BASE_URL", raising=False)
    for name in list(os.environ):
        if name.lower().startswith(("umbraco__", "postroom__")):
            monkeypatch.delenv(name)
    return site


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashing():
    """Passwords are still hashed with Argon2, at a cost that suits a test suite."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["hashers.QuickArgon2PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def restore_tempdir():
    """The web server sends spooled bodies into its private data directory by setting
    ``tempfile.tempdir`` for the whole process (waitress has no option for it); a test that
    starts one in-process must not leave later tests (and smtp-sink, which runs as nobody)
    making their temporary files in a 0700 directory that is then deleted."""
    import tempfile

    before = tempfile.tempdir
    yield
    tempfile.tempdir = before


@pytest.fixture
def administrator(db):
    from postroom.accounts.models import User

    return User.objects.create_superuser("admin@example.com", "correct-horse-battery", name="Ada")


@pytest.fixture
def editor(db):
    from postroom.accounts.models import User

    return User.objects.create_user("editor@example.com", "correct-horse-battery", role="editor")


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator)
    return client


# Tests using these start a real `postroom serve` or a browser: slow by nature.
SLOW_FIXTURES = frozenset({"serve", "serve_on_sqlite", "postroom", "postroom_with", "browser"})


def pytest_collection_modifyitems(config, items):
    """Browser and attack tests count as slow, so that `pytest -m "not slow"` leaves them out."""
    for item in items:
        if SLOW_FIXTURES.intersection(item.fixturenames) or item.get_closest_marker("attack"):
            item.add_marker(pytest.mark.slow)


def pytest_sessionfinish(session, exitstatus):
    """In CI nothing may be skipped: a skipped test there is a missing install step."""
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and session.exitstatus == 0:
        reporter.write_line(f"CI: {skipped} test(s) skipped; in CI nothing may skip.", red=True)
        session.exitstatus = 1


# -- real servers on loopback (see tests/smtpservers.py) -----------------------------------


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
