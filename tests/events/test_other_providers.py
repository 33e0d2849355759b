"""Mailgun (HMAC in the body), Postmark and Brevo (a secret in the URL's auth) and the generic
HMAC format: each provider's documented payload, signed with test keys."""

from __future__ import annotations

import json
import time

import pytest

from events.conftest import (
    BREVO_SECRET,
    POSTMARK_SECRET,
    basic_auth,
    generic_headers,
    mailgun_body,
    post,
)
from postroom.delivery.models import RecipientEvent, Suppression

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("secrets_configured")]


def mailgun_failure(message, severity="permanent") -> dict:
    bare = message.message_id.strip("<>")
    return {
        "event": "failed",
        "id": f"G9Bn5sl1TC6-{severity}",
        "timestamp": time.time(),
        "severity": severity,
        "reason": "bounce" if severity == "permanent" else "generic",
        "recipient": "bob@example.com",
        "delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist"},
        "message": {"headers": {"message-id": bare, "to": "bob@example.com"}},
        "user-variables": {},
    }


def test_mailgun_permanent_failure_is_a_hard_bounce_matched_by_message_id(client, sent_message):
    message = sent_message(provider_id="")
    response = post(client, "mailgun", mailgun_body(mailgun_failure(message)))

    assert response.status_code == 200, response.content
    event = RecipientEvent.objects.get()
    assert (event.message, event.kind, event.bounce_type) == (message, "bounced", "hard")
    assert "5.1.1 The email account does not exist" in event.detail
    suppressed = Suppression.objects.get()
    assert suppressed.address == "bob@example.com"
    assert suppressed.reason == "hard_bounce"
    assert suppressed.message == message


def test_mailgun_temporary_failure_is_deferred_and_suppresses_nobody(client, sent_message):
    message = sent_message()
    post(client, "mailgun", mailgun_body(mailgun_failure(message, "temporary")))

    assert RecipientEvent.objects.get().kind == "deferred"
    assert not Suppression.objects.exists()


def test_mailgun_user_variables_find_the_message(client, sent_message):
    message = sent_message(provider_id="")
    data = {
        "event": "delivered",
        "id": "d-1",
        "timestamp": time.time(),
        "recipient": "ann@example.com",
        "user-variables": {"postroom_id": message.tracking_id},
        "message": {"headers": {"message-id": "not-ours@mailgun.example"}},
    }
    post(client, "mailgun", mailgun_body(data))

    assert RecipientEvent.objects.get().message == message


def test_mailgun_wrong_key_and_reused_token_are_refused(client, sent_message):
    message = sent_message()
    body = mailgun_body(mailgun_failure(message), token="t" * 50)
    forged = body.replace(b'"signature": "', b'"signature": "00', 1)

    assert post(client, "mailgun", forged).status_code == 401
    assert post(client, "mailgun", body).status_code == 200
    assert post(client, "mailgun", body).status_code == 400  # the token again
    assert RecipientEvent.objects.count() == 1


def test_postmark_bounce_with_metadata_and_basic_auth(client, sent_message):
    message = sent_message(provider_id="883953f4-6105-42a2-a16a-77a8eac79483")
    body = json.dumps(
        {
            "RecordType": "Bounce",
            "ID": 42,
            "Type": "HardBounce",
            "TypeCode": 1,
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Description": "The server was unable to deliver your message.",
            "Details": "smtp;550 5.1.1 unknown user",
            "Email": "bob@example.com",
            "BouncedAt": "2026-12-01T13:28:10.2735393-04:00",
            "Metadata": {"postroom-id": message.tracking_id},
        }
    ).encode()

    assert post(client, "postmark", body).status_code == 401
    assert post(client, "postmark", body, **basic_auth("wrong-secret-value-00")).status_code == 401
    response = post(client, "postmark", body, **basic_auth(POSTMARK_SECRET))

    assert response.status_code == 200
    event = RecipientEvent.objects.get()
    assert (event.message, event.kind, event.bounce_type) == (message, "bounced", "hard")
    replayed = post(client, "postmark", body, **basic_auth(POSTMARK_SECRET))
    assert replayed.status_code == 400
    assert RecipientEvent.objects.count() == 1


def test_postmark_delivery_and_spam_complaint(client, sent_message):
    message = sent_message(provider_id="pm-1")
    for payload in (
        {
            "RecordType": "Delivery",
            "MessageID": "pm-1",
            "Recipient": "ann@example.com",
            "DeliveredAt": "2026-12-01T10:00:00Z",
            "Details": "Test delivery webhook details",
        },
        {
            "RecordType": "SpamComplaint",
            "ID": 7,
            "Type": "SpamComplaint",
            "MessageID": "pm-1",
            "Email": "bob@example.com",
            "BouncedAt": "2026-12-01T10:05:00Z",
        },
    ):
        body = json.dumps(payload).encode()
        assert post(client, "postmark", body, **basic_auth(POSTMARK_SECRET)).status_code == 200

    kinds = set(message.events.values_list("recipient", "kind"))
    assert kinds == {("ann@example.com", "delivered"), ("bob@example.com", "complained")}
    assert Suppression.objects.get().reason == "complaint"


def test_brevo_events_with_a_bearer_token(client, sent_message):
    message = sent_message(provider_id="")
    body = json.dumps(
        {
            "event": "soft_bounce",
            "email": "bob@example.com",
            "id": 1234,
            "date": "2026-12-01 10:00:00",
            "ts_event": int(time.time()),
            "message-id": message.message_id,
            "reason": "mailbox full",
        }
    ).encode()

    response = post(client, "brevo", body, HTTP_AUTHORIZATION=f"Bearer {BREVO_SECRET}")

    assert response.status_code == 200
    event = RecipientEvent.objects.get()
    assert (event.message, event.kind, event.bounce_type) == (message, "bounced", "soft")
    assert not Suppression.objects.exists()


def test_generic_format_signed_with_hmac(client, sent_message):
    message = sent_message()
    body = json.dumps(
        {
            "events": [
                {
                    "id": "g1",
                    "type": "complained",
                    "recipient": "ann@example.com",
                    "timestamp": int(time.time()),
                    "postroom_id": message.tracking_id,
                }
            ]
        }
    ).encode()

    response = post(client, "generic", body, **generic_headers(body))

    assert response.status_code == 200
    assert RecipientEvent.objects.get().kind == "complained"
    tampered = body.replace(b"complained", b"delivered")
    assert post(client, "generic", tampered, **generic_headers(body)).status_code == 401


def test_brevo_events_of_two_messages_in_the_same_second_are_both_kept(client, sent_message):
    first, second = sent_message(provider_id=""), sent_message(provider_id="")
    stamp = int(time.time())
    for message in (first, second):
        body = json.dumps(
            {
                "event": "delivered",
                "email": "ann@example.com",
                "id": 1234,  # the webhook's id: the same for every event it sends
                "ts_event": stamp,
                "message-id": message.message_id,
            }
        ).encode()
        response = post(client, "brevo", body, HTTP_AUTHORIZATION=f"Bearer {BREVO_SECRET}")
        assert response.json()["recorded"] == 1

    assert first.events.count() == second.events.count() == 1


def test_a_postmark_isp_block_is_a_soft_bounce_that_suppresses_nobody(client, sent_message):
    message = sent_message(provider_id="pm-blocked")
    body = json.dumps(
        {
            "RecordType": "Bounce",
            "ID": 43,
            "Type": "Blocked",
            "TypeCode": 100006,
            "MessageID": "pm-blocked",
            "Details": "550 5.7.1 blocked by policy",
            "Email": "bob@example.com",
            "BouncedAt": "2026-12-01T13:28:10Z",
            "Inactive": False,
        }
    ).encode()

    assert post(client, "postmark", body, **basic_auth(POSTMARK_SECRET)).status_code == 200
    assert message.events.get().bounce_type == "soft"
    assert not Suppression.objects.exists()


def test_a_mailgun_retry_hours_later_is_taken(client, sent_message):
    """Mailgun resends the first signed body for up to 8 hours after an outage."""
    message = sent_message()
    three_hours_ago = str(int(time.time()) - 3 * 3600)
    body = mailgun_body(mailgun_failure(message), timestamp=three_hours_ago)

    assert post(client, "mailgun", body).status_code == 200
    assert RecipientEvent.objects.count() == 1
    assert post(client, "mailgun", body).status_code == 400  # the same retry twice
    assert RecipientEvent.objects.count() == 1


def test_a_mailgun_body_older_than_its_retries_or_from_the_future_is_refused(client, sent_message):
    message = sent_message()
    too_old = str(int(time.time()) - 8 * 3600 - 60)
    ahead = str(int(time.time()) + 3600)

    assert (
        post(client, "mailgun", mailgun_body(mailgun_failure(message), too_old)).status_code == 400
    )
    assert post(client, "mailgun", mailgun_body(mailgun_failure(message), ahead)).status_code == 400
    assert not RecipientEvent.objects.exists()


def test_the_replay_record_outlives_mailguns_retries():
    from postroom.events import replay
    from postroom.events.verify import mailgun

    assert replay.KEEP.total_seconds() > mailgun.RETRY_WINDOW


def test_other_providers_keep_the_short_tolerance(client):
    old = str(int(time.time()) - 3 * 3600)
    event = {"id": "x", "type": "delivered", "recipient": "ann@example.com"}
    body = json.dumps({"events": [event]}).encode()

    assert post(client, "generic", body, **generic_headers(body, old)).status_code == 400
    assert post(client, "generic", body, **generic_headers(body)).status_code == 200
