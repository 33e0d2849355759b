"""Fixtures shared by every test module."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def isolated_site(tmp_path, monkeypatch):
    """Every test reads settings from its own empty site directory, in Development."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setenv("POSTROOM_SITE", str(site))
    monkeypatch.delenv("POSTROOM_ENVIRONMENT", raising=False)
    for name in list(os.environ):
        if name.lower().startswith(("umbraco__", "postroom__")):
            monkeypatch.delenv(name)
    return site


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


def pytest_sessionfinish(session, exitstatus):
    """In CI nothing may be skipped: a skipped test there is a missing install step."""
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and session.exitstatus == 0:
        reporter.write_line(f"CI: {skipped} test(s) skipped; in CI nothing may skip.", red=True)
        session.exitstatus = 1
