"""How events find their message: the identifiers Postroom adds when it queues a message, the
provider's id from the 250 reply, then the Message-ID."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime

import pytest
from django.core.mail import EmailMessage

from postroom.delivery import actions
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import OutboxMessage
from postroom.delivery.providerid import provider_id
from postroom.delivery.recipient_events import ProviderEvent, find_message

pytestmark = pytest.mark.django_db


def queued(**headers: str) -> tuple[OutboxMessage, email.message.Message]:
    row = enqueue(
        EmailMessage("Hi", "Body", "site@example.com", ["ann@example.com"], headers=headers)
    )
    return row, email.message_from_bytes(bytes(row.raw))


def test_each_configured_provider_gets_its_echo_header(secrets_configured, sendgrid_keys):
    row, parsed = queued()

    tracking = row.tracking_id
    assert len(tracking) == 24
    assert json.loads(parsed["X-SMTPAPI"]) == {"unique_args": {"postroom_id": tracking}}
    assert json.loads(parsed["X-Mailgun-Variables"]) == {"postroom_id": tracking}
    assert parsed["X-PM-Metadata-postroom-id"] == tracking
    assert parsed["X-SES-MESSAGE-TAGS"] == f"postroom_id={tracking}"
    assert parsed["X-Mailin-custom"] == f"postroom_id:{tracking}"
    assert parsed["X-Postroom-Id"] == tracking


def test_no_provider_configured_adds_no_header():
    row, parsed = queued()

    assert row.tracking_id
    assert not [
        name for name in parsed if name.lower().startswith(("x-smtpapi", "x-pm", "x-postroom"))
    ]


def test_a_callers_own_header_is_kept(secrets_configured, sendgrid_keys):
    _row, parsed = queued(**{"X-SMTPAPI": '{"category": ["news"]}'})

    assert parsed.get_all("X-SMTPAPI") == ['{"category": ["news"]}']


def test_a_resent_copy_echoes_its_own_id(secrets_configured):
    original, _ = queued()

    (copy,) = actions.resend([original])

    assert copy.tracking_id and copy.tracking_id != original.tracking_id
    raw = bytes(copy.raw)
    assert copy.tracking_id.encode() in raw
    assert original.tracking_id.encode() not in raw


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("250 2.0.0 Ok: queued as 4F2A91C3", "4F2A91C3"),
        ("250 Ok: queued as ZdQx1ZGJSy2-7a8QXUVfAg", "ZdQx1ZGJSy2-7a8QXUVfAg"),
        (
            "250 Ok 0100018c2f0e8a1b-5e3f7a9c-1111-2222-3333-444455556666-000000",
            "0100018c2f0e8a1b-5e3f7a9c-1111-2222-3333-444455556666-000000",
        ),
        ("250 2.0.0 OK 1701429012 d9-20020a05 - gsmtp", ""),
        ("250 Great success", ""),
    ],
)
def test_the_providers_id_is_read_from_the_250_reply(reply, expected):
    assert provider_id(reply) == expected


def event(**match: str) -> ProviderEvent:
    return ProviderEvent("generic", "delivered", "ann@example.com", datetime.now(UTC), **match)


def test_matching_prefers_the_echoed_id_then_the_providers_id_then_message_id():
    first, _ = queued()
    second, _ = queued()
    third, _ = queued()
    OutboxMessage.objects.filter(pk=second.pk).update(provider_message_id="P-2")

    assert find_message(event(tracking_id=first.tracking_id, provider_message_id="P-2")) == first
    assert find_message(event(tracking_id="unknown", provider_message_id="P-2.filter")) == second
    assert find_message(event(message_id=third.message_id.strip("<>"))) == third
    assert find_message(event(message_id="<nobody@example.com>")) is None


def test_the_worker_keeps_the_id_from_the_250_reply(isolated_site, smtp_server):
    from postroom.delivery import worker
    from sites import queue_mail, use_smtp_server

    server = smtp_server(data_reply="250 2.0.0 Ok: queued as 9QX3B1")
    use_smtp_server(isolated_site, server.port)
    (row,) = queue_mail()

    worker.run_once()

    row.refresh_from_db()
    assert row.status == "sent"
    assert row.provider_message_id == "9QX3B1"


def test_a_shared_provider_id_or_message_id_finds_the_most_recently_sent():
    from datetime import timedelta

    older, _ = queued()  # first in the table: what an unordered query tends to give
    newer, _ = queued()
    now = datetime.now(UTC)
    OutboxMessage.objects.filter(pk=newer.pk).update(
        provider_message_id="P-9", sent_at=now, message_id="<same@example.com>"
    )
    OutboxMessage.objects.filter(pk=older.pk).update(
        provider_message_id="P-9", sent_at=now - timedelta(days=1), message_id="<same@example.com>"
    )
    never, _ = queued()  # never sent: the last choice
    OutboxMessage.objects.filter(pk=never.pk).update(
        provider_message_id="P-9", message_id="<same@example.com>"
    )

    assert find_message(event(provider_message_id="P-9")) == newer
    assert find_message(event(message_id="same@example.com")) == newer
