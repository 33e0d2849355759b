"""The inbox API tokens screen: administrators create (shown once) and revoke tokens."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from postroom.inbox.models import InboxToken
from postroom.inbox.tokens import authenticate

pytestmark = pytest.mark.django_db


def test_an_administrator_creates_a_token_seen_once_and_revokes_it(staff_client: Client) -> None:
    assert b"/inbox/tokens/" in staff_client.get("/inbox/").content
    page = staff_client.post("/inbox/tokens/", {"name": "ci"})
    assert page.status_code == 200
    [token] = re.findall(r"pri_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", page.content.decode())
    assert authenticate(token) is not None
    listed = staff_client.get("/inbox/tokens/").content.decode()
    assert "ci" in listed and token not in listed

    again = staff_client.post("/inbox/tokens/", {"name": "ci"})
    assert again.status_code == 400 and b"exists already" in again.content

    row = InboxToken.objects.get()
    assert staff_client.post(f"/inbox/tokens/{row.pk}/revoke/").status_code == 302
    assert authenticate(token) is None


def test_others_cannot_open_it(client: Client, editor) -> None:  # noqa: ANN001
    assert client.get("/inbox/tokens/").status_code in (302, 403)
    client.force_login(editor)
    assert client.post("/inbox/tokens/", {"name": "x"}).status_code == 403
    assert not InboxToken.objects.exists()
