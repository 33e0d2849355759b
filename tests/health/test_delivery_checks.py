"""Delivery checks: a worker is alive, the queue moves, failures and held messages are shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from health.runs import results
from postroom.delivery.models import Channel, Kind, OutboxMessage, Status, WorkerHeartbeat

pytestmark = pytest.mark.django_db


def message(status: str, minutes_ago: int = 0, **fields) -> OutboxMessage:
    created = timezone.now() - timedelta(minutes=minutes_ago)
    return OutboxMessage.objects.create(
        status=status,
        sender="website@postroom.test",
        to="someone@postroom.test",
        subject="Hello",
        message_id=f"<{OutboxMessage.objects.count()}@postroom.test>",
        raw=b"Subject: Hello\r\n\r\nHi\r\n",
        created_at=created,
        **fields,
    )


def beat(worker_id: str, seconds_ago: int) -> WorkerHeartbeat:
    return WorkerHeartbeat.objects.create(
        worker_id=worker_id,
        hostname="web1",
        pid=4242,
        last_seen_at=timezone.now() - timedelta(seconds=seconds_ago),
    )


def test_a_recent_heartbeat_names_the_worker():
    beat("web1:4242", seconds_ago=20)

    status, found = results("delivery-worker")

    assert status == "success"
    assert "1 worker running: web1 (pid 4242, seen 20 s ago)" in found[0].message


def test_no_worker_is_an_error_that_says_how_to_start_one():
    status, found = results("delivery-worker")

    assert status == "error"
    assert found[0].message.startswith(
        "No delivery worker is running: start `postroom worker` or `postroom serve`."
    )


def test_a_stale_heartbeat_is_no_worker_and_says_when_it_was_last_seen():
    beat("web1:4242", seconds_ago=10 * 60)

    status, found = results("delivery-worker")

    assert status == "error"
    assert "seen 10 minutes ago" in found[0].message


def test_an_empty_queue_passes():
    message(Status.SENT)

    assert results("delivery-queue")[0] == "success"


def test_a_fresh_backlog_is_normal():
    message(Status.QUEUED, minutes_ago=2)
    message(Status.QUEUED, minutes_ago=1)

    status, found = results("delivery-queue")

    assert status == "success"
    assert "2 messages waiting; the oldest was queued 2 minutes ago" in found[0].message


def test_a_backlog_older_than_15_minutes_is_a_warning():
    message(Status.QUEUED, minutes_ago=20)

    status, found = results("delivery-queue")

    assert status == "warning"
    assert "20 minutes ago" in found[0].message


def test_a_backlog_older_than_the_stuck_limit_is_an_error(monkeypatch):
    monkeypatch.setenv("Postroom__Alerts__StuckAfterMinutes", "25")
    message(Status.QUEUED, minutes_ago=26)

    status, found = results("delivery-queue")

    assert status == "error"
    assert "stuck" in found[0].message and "25 minutes" in found[0].message


def test_failures_in_the_last_day_are_a_warning_with_a_link_to_the_log():
    message(Status.FAILED, failed_at=timezone.now() - timedelta(hours=1), last_reply="550 5.1.1 No")
    message(Status.FAILED, failed_at=timezone.now() - timedelta(hours=30))  # too old
    message(  # an alert about failures is not counted as one
        Status.FAILED, kind=Kind.SYSTEM, channel=Channel.FALLBACK, failed_at=timezone.now()
    )

    status, found = results("delivery-failures")

    assert status == "warning"
    assert found[0].message.startswith("1 message failed in the last 24 hours.")
    assert "550 5.1.1 No" in found[0].message
    assert found[0].link == "/outbox/?status=failed&period=24h"


def test_no_failures_pass():
    assert results("delivery-failures")[0] == "success"


def test_held_messages_are_a_warning():
    message(Status.HELD)
    message(Status.HELD)

    status, found = results("delivery-held")

    assert status == "warning"
    assert "2 messages held for want of settings" in found[0].message
    assert found[0].link == "/outbox/?status=held"
