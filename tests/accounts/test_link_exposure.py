"""Invitation and reset links are keys to an account: an Editor must not read other people's.

The email log shows editors the summary of these messages, never their content.
"""

from __future__ import annotations

import pytest
from django.test import Client

from postroom.delivery.models import OutboxMessage

from .conftest import link_in

pytestmark = pytest.mark.django_db


def test_an_editor_cannot_read_an_administrators_reset_link_in_the_email_log(
    visitor, editor, administrator, reset_enabled
):
    visitor.post("/password/forgot/", {"email": "admin@example.com"})
    row = OutboxMessage.objects.get(kind="password_reset")
    token = link_in(row, "/password/reset/").rstrip("/").rsplit("/", 1)[1]
    reader = Client()
    reader.force_login(editor)
    for url in (
        f"/outbox/{row.pk}/?tab=text",
        f"/outbox/{row.pk}/?tab=raw",
        f"/outbox/{row.pk}/html/",
        f"/outbox/{row.pk}/source.eml",
    ):
        assert token not in reader.get(url).content.decode(errors="replace"), url
