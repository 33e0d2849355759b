"""Helpers for the accounts tests: settings files, mail in the outbox, links in mail."""

from __future__ import annotations

import json
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from postroom.delivery.models import OutboxMessage

PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "a-much-better-passphrase"


def write_appsettings(site: Path, **sections: object) -> None:
    """``write_appsettings(site, Umbraco={...}, Postroom={...})`` as appsettings.json."""
    (site / "appsettings.json").write_text(json.dumps(sections))


def smtp_settings(port: int) -> dict:
    return {
        "CMS": {
            "Global": {
                "Smtp": {
                    "From": "site@example.org",
                    "Host": "127.0.0.1",
                    "Port": port,
                    "SecureSocketOptions": "None",
                }
            }
        }
    }


def parsed(row: OutboxMessage) -> EmailMessage:
    return message_from_bytes(bytes(row.raw), policy=policy.default)  # type: ignore[return-value]


def text_of(row: OutboxMessage) -> str:
    return parsed(row).get_body(("plain",)).get_content()


def html_of(row: OutboxMessage) -> str:
    return parsed(row).get_body(("html",)).get_content()


def link_in(row: OutboxMessage, path: str) -> str:
    """The absolute link to ``path`` (e.g. ``/invite/``) in the text part of the message."""
    found = re.search(r"https?://\S+" + re.escape(path) + r"\S+/", text_of(row))
    assert found, f"no {path} link in:\n{text_of(row)}"
    return found.group(0)


def local(link: str) -> str:
    """The path of an absolute link, for the test client."""
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def production(monkeypatch):
    """Production, set up as it must be: with the address for emailed links."""
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")
    monkeypatch.setenv("POSTROOM_BASE_URL", "https://postroom.example")


@pytest.fixture
def reset_enabled(monkeypatch):
    monkeypatch.setenv("Umbraco__CMS__Security__AllowPasswordReset", "true")


@pytest.fixture
def visitor():
    """A browser with nobody logged in (``client`` is the administrator's in admin_client)."""
    from django.test import Client

    return Client()
