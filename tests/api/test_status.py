"""GET /api/v1/messages/<id> and the OpenAPI description."""

from __future__ import annotations

import pytest
from django.test import Client

from api.conftest import GOOD
from postroom.applications import credentials
from postroom.delivery.models import DeliveryAttempt, OutboxMessage, Status

pytestmark = pytest.mark.django_db


def _get(path, key):
    return Client().get(path, headers={"Authorization": f"Bearer {key}"})


def test_status_shows_each_recipient_and_the_attempts(post, shop):
    sent = post({**GOOD, "to": ["ann@example.net", "bob@example.net", "cy@example.net"]}).json()
    row = OutboxMessage.objects.get(pk=sent["id"])
    row.status = Status.QUEUED
    row.recipient_status = {
        "ann@example.net": "accepted",
        "bob@example.net": "550 5.1.1 no such user",
        "cy@example.net": "451 4.3.0 try later",
    }
    row.attempt_count = 1
    row.save()
    DeliveryAttempt.objects.create(
        message=row, transport="smtp", succeeded=True, reply="250 ok", duration_ms=12
    )
    response = _get(sent["url"], shop[1])
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "queued" and data["message_id"] == sent["message_id"]
    outcomes = {r["address"]: r["outcome"] for r in data["recipients"]}
    assert outcomes == {
        "ann@example.net": "accepted",
        "bob@example.net": "refused",
        "cy@example.net": "deferred",
    }
    assert data["attempts"][0]["reply"] == "250 ok"
    assert data["attempts"][0]["duration_ms"] == 12


def test_a_new_message_is_pending(post, shop):
    sent = post(GOOD).json()
    data = _get(sent["url"], shop[1]).json()
    assert data["recipients"] == [{"address": "ann@example.net", "outcome": "pending"}]
    assert data["attempts"] == []


def test_another_applications_message_is_404(post):
    sent = post(GOOD).json()
    _, other_key = credentials.create_application("Blog", ["example.org"])
    assert _get(sent["url"], other_key).status_code == 404


def test_postrooms_own_messages_are_not_visible(shop):
    from django.core.mail import EmailMessage

    from postroom.delivery.enqueue import enqueue

    own = enqueue(EmailMessage("Hi", "x", "a@example.org", ["b@example.net"]))
    assert _get(f"/api/v1/messages/{own.pk}", shop[1]).status_code == 404


@pytest.mark.parametrize("ident", ["abc", "99999999999999999999999", "-1"])
def test_odd_ids_are_404_not_500(shop, ident):
    assert _get(f"/api/v1/messages/{ident}", shop[1]).status_code == 404


def test_status_needs_a_key(post):
    sent = post(GOOD).json()
    assert Client().get(sent["url"]).status_code == 401


def test_openapi_describes_every_route(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    data = response.json()
    assert data["openapi"].startswith("3.")
    assert set(data["paths"]) == {"/messages", "/messages/{id}", "/suppressions"}
    assert "429" in data["paths"]["/messages"]["post"]["responses"]


def test_the_log_retention_deletes_api_messages_too(post):
    from datetime import timedelta

    from django.utils import timezone

    from postroom.api.models import ApiMessage
    from postroom.delivery.policy import DeliveryPolicy
    from postroom.delivery.retention import purge

    post(GOOD)
    OutboxMessage.objects.update(status=Status.SENT, sent_at=timezone.now())
    purged = purge(DeliveryPolicy(), now=timezone.now() + timedelta(days=400))
    assert purged.messages == 1
    assert not ApiMessage.objects.exists()
