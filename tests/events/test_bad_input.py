"""Bad input: refused with 401, 400 or 413, logged without secrets, never changing a message;
an event for an unknown message is kept as unmatched; only these endpoints skip CSRF."""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.test import Client

from events.conftest import (
    GENERIC_SECRET,
    POSTMARK_SECRET,
    SECRETS,
    basic_auth,
    generic_headers,
    post,
)
from postroom.delivery.models import OutboxMessage, RecipientEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("secrets_configured")]


def generic(event: dict) -> bytes:
    return json.dumps({"events": [event]}).encode()


def test_malformed_json_is_a_400_even_when_signed(client):
    body = b'{"events": [ {"type": '
    response = post(client, "generic", body, **generic_headers(body))

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_a_body_of_the_wrong_shape_is_a_400(client):
    for body in (b'"just a string"', b"[1, 2]", generic({"type": "exploded", "recipient": "a@b"})):
        assert post(client, "generic", body, **generic_headers(body)).status_code == 400
    assert not RecipientEvent.objects.exists()


def test_an_oversized_body_is_a_413_before_any_check(client):
    body = b"[" + b" " * (1024 * 1024 + 10) + b"]"

    response = post(client, "generic", body)

    assert response.status_code == 413


def test_an_old_timestamp_is_refused(client):
    body = generic({"id": "x", "type": "delivered", "recipient": "ann@example.com"})
    response = post(client, "generic", body, **generic_headers(body, str(int(time.time()) - 900)))

    assert response.status_code == 400


def test_a_refusal_never_changes_a_message(client, sent_message):
    message = sent_message()
    before = OutboxMessage.objects.values().get(pk=message.pk)
    body = generic(
        {
            "id": "x",
            "type": "bounced",
            "recipient": "ann@example.com",
            "postroom_id": message.tracking_id,
        }
    )

    assert (
        post(
            client,
            "generic",
            body,
            HTTP_X_POSTROOM_SIGNATURE="v1=00",
            HTTP_X_POSTROOM_TIMESTAMP=str(int(time.time())),
        ).status_code
        == 401
    )

    assert OutboxMessage.objects.values().get(pk=message.pk) == before
    assert not RecipientEvent.objects.exists()


def test_refusals_are_logged_without_secrets(client, caplog):
    caplog.set_level(logging.WARNING, logger="postroom.events")
    body = generic({"id": "x", "type": "delivered", "recipient": "ann@example.com"})

    post(client, "postmark", body, **basic_auth("not-" + POSTMARK_SECRET))
    post(
        client,
        "generic",
        body,
        HTTP_X_POSTROOM_SIGNATURE="v1=" + GENERIC_SECRET,
        HTTP_X_POSTROOM_TIMESTAMP="1",
    )

    assert "Refused postmark events" in caplog.text
    assert "Refused generic events" in caplog.text
    for secret in SECRETS:
        assert secret not in caplog.text


def test_an_event_for_an_unknown_message_is_kept_as_unmatched(client):
    body = generic(
        {
            "id": "u1",
            "type": "bounced",
            "recipient": "ghost@example.com",
            "message_id": "<nobody@example.com>",
            "bounce_type": "soft",
        }
    )

    response = post(client, "generic", body, **generic_headers(body))

    assert response.status_code == 200
    assert response.json()["unmatched"] == 1
    event = RecipientEvent.objects.get()
    assert event.message is None
    assert "<nobody@example.com>" in event.reference


def test_an_unconfigured_or_unknown_provider_answers_404(client, monkeypatch):
    monkeypatch.delenv("Postroom__Events__Generic__Secret")
    body = generic({"id": "x", "type": "delivered", "recipient": "a@example.com"})

    off = post(client, "generic", body, **generic_headers(body))
    unknown = post(client, "nosuchprovider", body)

    assert off.status_code == 404
    assert "Postroom:Events:Generic:Secret" in off.json()["error"]
    assert unknown.status_code == 404


def test_the_endpoints_take_posts_without_a_csrf_token_and_set_no_cookie(sent_message):
    strict = Client(enforce_csrf_checks=True)
    body = generic({"id": "c1", "type": "delivered", "recipient": "ann@example.com"})

    response = post(strict, "generic", body, **generic_headers(body))

    assert response.status_code == 200
    assert not response.cookies
    assert strict.get("/events/generic/").status_code == 405


def test_other_backoffice_posts_still_need_a_csrf_token(administrator):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(administrator)

    assert strict.post("/settings/", {"to": "a@example.com"}).status_code == 403


def test_webhooks_work_before_the_first_administrator_exists(client):
    body = generic({"id": "s1", "type": "delivered", "recipient": "ann@example.com"})

    assert post(client, "generic", body, **generic_headers(body)).status_code == 200
