"""Relayed mail goes into the outbox as received, with its envelope and its application."""

from __future__ import annotations

import pytest

from postroom.applications import credentials
from postroom.delivery.enqueue import enqueue_raw
from postroom.delivery.models import Kind, OutboxMessage

pytestmark = pytest.mark.django_db

RAW = (
    b"From: Shop <shop@example.org>\r\n"
    b"To: Ann <ann@example.net>\r\n"
    b"Cc: bob@example.net\r\n"
    b"Subject: =?utf-8?q?Caf=C3=A9?=\r\n"
    b"Message-ID: <abc@example.org>\r\n"
    b"\r\n"
    b"Hello\r\n"
)


def test_raw_mail_is_stored_byte_for_byte_with_its_envelope():
    app, _ = credentials.create_application("Shop", ["example.org"])
    row = enqueue_raw(
        RAW,
        "shop@example.org",
        ["ann@example.net", "bob@example.net", "hidden@example.net"],
        kind=Kind.RELAY,
        application=app,
    )
    row = OutboxMessage.objects.get(pk=row.pk)
    assert bytes(row.raw) == RAW
    assert row.application == app and row.kind == Kind.RELAY
    assert (row.to, row.cc, row.bcc) == ("ann@example.net", "bob@example.net", "hidden@example.net")
    assert row.envelope_recipients == ("ann@example.net", "bob@example.net", "hidden@example.net")
    assert row.subject == "Café" and row.message_id == "<abc@example.org>"


def test_a_message_without_message_id_gets_one_in_front():
    raw = b"From: shop@example.org\r\nTo: ann@example.net\r\n\r\nHi\r\n"
    row = enqueue_raw(raw, "shop@example.org", ["ann@example.net"])
    assert row.message_id.startswith("<") and row.message_id.endswith("@example.org>")
    assert bytes(row.raw).endswith(raw)
    assert bytes(row.raw).startswith(b"Message-ID: " + row.message_id.encode())


def test_no_recipients_is_refused():
    with pytest.raises(ValueError, match="recipient"):
        enqueue_raw(RAW, "shop@example.org", [])


def test_deleting_an_application_keeps_its_mail():
    app, _ = credentials.create_application("Shop", ["example.org"])
    row = enqueue_raw(RAW, "shop@example.org", ["ann@example.net"], application=app)
    app.delete()
    row.refresh_from_db()
    assert row.application is None
