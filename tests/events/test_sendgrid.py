"""SendGrid's Signed Event Webhook: ECDSA over timestamp + body, events in a JSON array."""

from __future__ import annotations

import json
import time

import pytest

from events.conftest import post
from postroom.delivery.models import RecipientEvent

pytestmark = pytest.mark.django_db


def batch(message, **extra) -> bytes:
    """Shaped as SendGrid documents its events (sg_message_id = the 250 id + filter parts)."""
    base = {
        "timestamp": int(time.time()),
        "smtp-id": message.message_id,
        "sg_message_id": f"{message.provider_message_id}.filterdrecv-p3mdw1-756b745b58-kmzbl",
        "category": [],
    }
    return json.dumps(
        [
            {
                **base,
                "email": "ann@example.com",
                "event": "delivered",
                "sg_event_id": "d1",
                "response": "250 OK",
            },
            {
                **base,
                "email": "bob@example.com",
                "event": "bounce",
                "type": "bounce",
                "sg_event_id": "b1",
                "status": "5.1.1",
                "reason": "550 5.1.1 No such user",
            },
            {**base, "email": "ann@example.com", "event": "processed", "sg_event_id": "p1"},
            {**extra, **base, "email": "bob@example.com", "event": "open", "sg_event_id": "o1"},
        ]
    ).encode()


def test_a_signed_batch_records_each_recipients_event(client, sendgrid_keys, sent_message):
    message = sent_message()
    body = batch(message)

    response = post(client, "sendgrid", body, **sendgrid_keys.sign(body))

    assert response.status_code == 200, response.content
    assert response.json()["recorded"] == 3  # "processed" says nothing new
    events = {(e.recipient, e.kind): e for e in message.events.all()}
    assert set(events) == {
        ("ann@example.com", "delivered"),
        ("bob@example.com", "bounced"),
        ("bob@example.com", "opened"),
    }
    bounce = events[("bob@example.com", "bounced")]
    assert bounce.bounce_type == "hard"
    assert "550 5.1.1 No such user" in bounce.detail


def test_the_echoed_unique_argument_finds_the_message_first(client, sendgrid_keys, sent_message):
    message = sent_message(provider_id="")
    body = json.dumps(
        [
            {
                "email": "ann@example.com",
                "event": "delivered",
                "sg_event_id": "x",
                "timestamp": int(time.time()),
                "postroom_id": message.tracking_id,
            }
        ]
    ).encode()

    assert post(client, "sendgrid", body, **sendgrid_keys.sign(body)).status_code == 200

    assert RecipientEvent.objects.get().message == message


def test_a_body_changed_after_signing_is_refused(client, sendgrid_keys, sent_message):
    message = sent_message()
    body = batch(message)
    headers = sendgrid_keys.sign(body)

    response = post(client, "sendgrid", body.replace(b"bounce", b"delivered"), **headers)

    assert response.status_code == 401
    assert not RecipientEvent.objects.exists()


def test_an_old_timestamp_is_refused_even_when_signed(client, sendgrid_keys, sent_message):
    body = batch(sent_message())
    old = str(int(time.time()) - 3600)

    response = post(client, "sendgrid", body, **sendgrid_keys.sign(body, timestamp=old))

    assert response.status_code == 400
    assert "timestamp" in response.json()["error"]
    assert not RecipientEvent.objects.exists()


def test_the_same_request_twice_is_a_replay(client, sendgrid_keys, sent_message):
    body = batch(sent_message())
    headers = sendgrid_keys.sign(body)

    assert post(client, "sendgrid", body, **headers).status_code == 200
    again = post(client, "sendgrid", body, **headers)

    assert again.status_code == 400
    assert "replay" in again.json()["error"]
    assert RecipientEvent.objects.count() == 3


def test_a_retried_batch_with_a_fresh_signature_skips_events_already_kept(
    client, sendgrid_keys, sent_message
):
    body = batch(sent_message())
    assert post(client, "sendgrid", body, **sendgrid_keys.sign(body)).status_code == 200

    retried = post(client, "sendgrid", body, **sendgrid_keys.sign(body, str(int(time.time()) + 1)))

    assert retried.status_code == 200
    assert retried.json()["skipped"] == 3
    assert RecipientEvent.objects.count() == 3


def test_missing_signature_headers_are_refused(client, sendgrid_keys, sent_message):
    response = post(client, "sendgrid", batch(sent_message()))

    assert response.status_code == 401
