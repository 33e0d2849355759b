from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from postroom.inbox.models import CaughtMessage
from postroom.inbox.server import InboxServer


def store(
    raw: bytes, *, minutes_ago: int = 0, recipients: list[str] | None = None
) -> CaughtMessage:
    message = CaughtMessage.from_envelope(
        "app@example.com", recipients or ["user@example.com"], raw
    )
    message.received_at = timezone.now() - timedelta(minutes=minutes_ago)
    message.save()
    return message


@pytest.fixture
def inbox_server(tmp_path: Path) -> Iterator[InboxServer]:
    with InboxServer("127.0.0.1", 0, tls_dir=tmp_path / "tls") as server:
        yield server


@pytest.fixture
def user(db):  # noqa: ANN001, ANN201
    from postroom.accounts.models import User

    return User.objects.create_user("a@example.com", "long-password-123", role="administrator")


@pytest.fixture
def staff_client(client: Client, user) -> Client:  # noqa: ANN001
    client.force_login(user)
    return client
