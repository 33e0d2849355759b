"""1000 signed events in one request: a handful of queries, not several per event."""

from __future__ import annotations

import json
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.conftest import generic_headers, post
from postroom.delivery.models import RecipientEvent, SoftBounce, Suppression

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("secrets_configured")]

EVENTS = 1000


def _batch(messages, kinds=("delivered",), count=EVENTS) -> bytes:
    events = []
    for n in range(count):
        message = messages[n % len(messages)]
        kind = kinds[n % len(kinds)]
        event = {"id": f"e-{n}", "type": kind, "recipient": f"r{n}@example.com"}
        if kind == "bounced":
            event["bounce_type"] = "hard" if n % 2 else "soft"
        # Half find their message by tracking id, half by Message-ID, some by nothing.
        if n % 10 == 9:
            event["message_id"] = "<nobody@example.com>"
        elif n % 2:
            event["postroom_id"] = message.tracking_id
        else:
            event["message_id"] = message.message_id
        events.append(event)
    return json.dumps({"events": events}).encode()


def test_a_thousand_deliveries_take_a_handful_of_queries(client, sent_message):
    messages = [sent_message(to=[f"r{n}@example.com" for n in range(3)]) for n in range(10)]
    body = _batch(messages)
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        response = post(client, "generic", body, **generic_headers(body))
    elapsed = time.monotonic() - started

    assert response.status_code == 200, response.content
    assert RecipientEvent.objects.count() == EVENTS
    assert RecipientEvent.objects.filter(message__isnull=True).count() == EVENTS // 10
    assert len(queries) < 30, f"{len(queries)} queries in {elapsed:.2f} s"
    assert elapsed < 5

    again = post(client, "generic", body, **generic_headers(body, str(int(time.time()) + 1)))
    assert again.status_code == 200 and again.json()["skipped"] == EVENTS
    assert RecipientEvent.objects.count() == EVENTS


def test_a_mixed_batch_still_suppresses_and_counts(client, sent_message):
    messages = [sent_message(to=[f"r{n}@example.com" for n in range(3)]) for n in range(5)]
    count = 200
    body = _batch(messages, ("delivered", "bounced", "complained", "deferred"), count)
    response = post(client, "generic", body, **generic_headers(body))

    assert response.status_code == 200, response.content
    assert RecipientEvent.objects.count() == count
    # Bounces fall on odd n, so all are hard; each hard bounce and complaint suppresses.
    hard = sum(1 for n in range(count) if n % 4 == 1 and n % 2)
    complaints = sum(1 for n in range(count) if n % 4 == 2)
    assert Suppression.objects.count() == hard + complaints
    assert not SoftBounce.objects.exists()  # the soft-bounce limit is off by default


def test_a_delivery_in_the_batch_ends_an_earlier_row_of_soft_bounces(client, sent_message):
    message = sent_message()
    SoftBounce.objects.create(key="ann@example.com", count=2)
    events = [
        {
            "id": "d",
            "type": "delivered",
            "recipient": "ann@example.com",
            "postroom_id": message.tracking_id,
        },
        {
            "id": "d",
            "type": "delivered",
            "recipient": "ann@example.com",
            "postroom_id": message.tracking_id,
        },
    ]
    body = json.dumps({"events": events}).encode()
    response = post(client, "generic", body, **generic_headers(body))

    assert (
        response.json()["recorded"] == 1 and response.json()["skipped"] == 1
    )  # twice in one batch
    assert not SoftBounce.objects.exists()
