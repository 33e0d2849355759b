"""A captured request stays a replay however its signature is respelled, and hostile JSON or
timestamps are refused rather than crashing or living forever."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from events.conftest import GENERIC_SECRET, generic_headers, post
from postroom.delivery.models import RecipientEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("secrets_configured")]

# The order of the P-256 group: (r, n - s) is as valid an ECDSA signature as (r, s).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _no_id_bounce() -> bytes:
    event = {"type": "bounced", "bounce_type": "soft", "recipient": "ann@example.com"}
    return json.dumps({"events": [event]}).encode()


def test_a_generic_signature_in_capitals_is_still_a_replay(client):
    body = _no_id_bounce()
    headers = generic_headers(body)
    assert post(client, "generic", body, **headers).status_code == 200
    shouted = {**headers, "HTTP_X_POSTROOM_SIGNATURE": headers["HTTP_X_POSTROOM_SIGNATURE"].upper()}

    again = post(client, "generic", body, **shouted)

    assert again.status_code == 400
    assert "replay" in again.json()["error"]
    assert RecipientEvent.objects.count() == 1


def test_a_malleated_sendgrid_signature_is_still_a_replay(client, sendgrid_keys):
    body = json.dumps([{"email": "ann@example.com", "event": "deferred"}]).encode()
    headers = sendgrid_keys.sign(body)
    assert post(client, "sendgrid", body, **headers).status_code == 200
    name = "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE"
    r, s = decode_dss_signature(base64.b64decode(headers[name]))
    twin = base64.b64encode(encode_dss_signature(r, P256_ORDER - s)).decode()

    again = post(client, "sendgrid", body, **{**headers, name: twin})

    assert again.status_code == 400
    assert RecipientEvent.objects.count() == 1


@pytest.mark.parametrize("provider", ["mailgun", "generic"])
def test_deeply_nested_json_is_a_400_not_a_server_error(client, provider):
    body = b"[" * 100_000 + b"]" * 100_000
    headers = generic_headers(body) if provider == "generic" else {}

    response = post(client, provider, body, **headers)

    assert response.status_code == 400


def test_a_signed_timestamp_that_is_not_a_number_of_seconds_is_refused(client):
    body = _no_id_bounce()
    from postroom.events.verify.generic import sign

    for stamp in ("nan", "NaN", "inf", "-inf"):
        headers = {
            "HTTP_X_POSTROOM_TIMESTAMP": stamp,
            "HTTP_X_POSTROOM_SIGNATURE": sign(GENERIC_SECRET, stamp, body),
        }
        assert post(client, "generic", body, **headers).status_code == 400, stamp
    assert not RecipientEvent.objects.exists()


def test_nul_characters_in_a_signed_event_are_dropped_not_a_server_error(client):
    event = {
        "id": "n\u0000",
        "type": "bounced",
        "recipient": "ann\u0000@example.com",
        "detail": "5.1.1 \u0000 no such user",
        "postroom_id": "x\u0000",
    }
    body = json.dumps({"events": [event]}).encode()

    response = post(client, "generic", body, **generic_headers(body))

    assert response.status_code == 200
    row = RecipientEvent.objects.get()
    assert (row.recipient, row.detail) == ("ann@example.com", "5.1.1  no such user")
