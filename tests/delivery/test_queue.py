"""Claiming from the outbox: leases, lost workers, held mail and the fallback channel."""

import time
from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.db import connection
from django.utils import timezone

from postroom.delivery import queue
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import OutboxMessage

pytestmark = pytest.mark.django_db
LEASE = timedelta(minutes=5)


def queue_some(n, **kwargs):
    return [
        enqueue(EmailMessage(f"M{i}", "Body", to=["a@example.net"]), **kwargs) for i in range(n)
    ]


def test_two_workers_never_hold_the_same_message():
    queue_some(10)
    first = queue.claim("worker-a", 6, LEASE)
    second = queue.claim("worker-b", 6, LEASE)
    assert len(first) == 6 and len(second) == 4
    assert not {m.pk for m in first} & {m.pk for m in second}
    assert queue.claim("worker-c", 6, LEASE) == []
    assert all(m.status == "sending" and m.attempt_count == 1 for m in first + second)


def test_a_message_whose_worker_died_is_claimed_again_after_the_lease():
    queue_some(1)
    (taken,) = queue.claim("dead-worker", 10, timedelta(seconds=0.2))
    assert queue.claim("live-worker", 10, LEASE) == []
    time.sleep(0.3)
    (again,) = queue.claim("live-worker", 10, LEASE)
    assert again.pk == taken.pk
    assert again.claimed_by == "live-worker"
    assert again.lost_leases == 1


def test_a_message_that_keeps_killing_workers_is_set_aside():
    (message,) = queue_some(1)
    for n in range(queue.MAX_LOST_LEASES + 1):
        OutboxMessage.objects.filter(pk=message.pk).update(
            status="sending", lease_expires_at=timezone.now() - timedelta(seconds=1)
        )
        queue.claim(f"worker-{n}", 10, LEASE)
    message.refresh_from_db()
    assert message.status == "failed"
    assert "a worker stopped 3 times" in message.last_reply
    assert message.failed_at is not None


def test_mail_not_yet_due_is_left_alone():
    (message,) = queue_some(1)
    OutboxMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=1)
    )
    assert queue.claim("w", 10, LEASE) == []


def test_released_messages_go_back_to_the_queue_untried():
    queue_some(3)
    claimed = queue.claim("stopping", 10, LEASE)
    queue.release("stopping", [m.pk for m in claimed])
    assert set(OutboxMessage.objects.values_list("status", "attempt_count")) == {("queued", 0)}


def test_claims_can_be_limited_to_channels():
    queue_some(1)
    (invite,) = queue_some(1, kind="invite", channel="fallback")
    (taken,) = queue.claim("w", 10, LEASE, channels=["fallback"])
    assert taken.pk == invite.pk


def test_held_mail_is_released_per_channel():
    site = queue_some(2)
    (invite,) = queue_some(1, kind="invite", channel="fallback")
    queue.hold_or_release("site", has_route=False)
    assert {m.status for m in OutboxMessage.objects.filter(channel="site")} == {"held"}
    assert OutboxMessage.objects.get(pk=invite.pk).status == "queued"
    queue.hold_or_release("site", has_route=True)
    assert {OutboxMessage.objects.get(pk=m.pk).status for m in site} == {"queued"}


def test_only_the_message_in_flight_counts_against_a_dead_worker():
    queue_some(5)
    batch = queue.claim("dies-while-sending", 10, timedelta(seconds=0.1))
    time.sleep(0.2)
    again = queue.claim("next-worker", 10, LEASE)
    assert [m.pk for m in again] == [m.pk for m in batch]
    assert [m.lost_leases for m in again] == [1, 0, 0, 0, 0]
    # Claimed twice, tried at most once: the untried ones do not count a try.
    assert [m.attempt_count for m in again] == [2, 1, 1, 1, 1]


def lose_the_lease(message):
    """The worker holding ``message`` died: its lease ran out a second ago."""
    OutboxMessage.objects.filter(pk=message.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_message_is_set_aside_at_the_third_dead_worker_and_not_before():
    (message,) = queue_some(1)
    queue.claim("worker-0", 10, LEASE)
    for deaths in (1, 2):
        lose_the_lease(message)
        (again,) = queue.claim(f"worker-{deaths}", 10, LEASE)  # still worth another try
        assert (again.pk, again.status, again.lost_leases) == (message.pk, "sending", deaths)

    lose_the_lease(message)
    assert queue.claim("worker-3", 10, LEASE) == []

    message.refresh_from_db()
    assert (message.status, message.lost_leases) == ("failed", 3)
    assert message.last_reply.startswith("Set aside: a worker stopped 3 times while sending it.")


def test_claims_take_the_longest_waiting_messages_first():
    now = timezone.now()
    messages = queue_some(6)
    # Due since: 1 and 4 the longest (4 is a retry, queued later but due earlier), then
    # 0, 2, 3 and 5 at the same moment, which go in the order they were queued.
    due = {0: 10, 1: 30, 2: 10, 3: 10, 4: 40, 5: 10}
    for index, minutes_ago in due.items():
        OutboxMessage.objects.filter(pk=messages[index].pk).update(
            next_attempt_at=now - timedelta(minutes=minutes_ago)
        )
    order = [messages[i].pk for i in (4, 1, 0, 2, 3, 5)]

    first = queue.claim("w1", 2, LEASE)
    second = queue.claim("w2", 3, LEASE)
    third = queue.claim("w3", 3, LEASE)

    assert [m.pk for m in first] == order[:2]
    assert [m.pk for m in second] == order[2:5]
    assert [m.pk for m in third] == order[5:]


def test_due_count_counts_due_mail_of_its_channel_up_to_the_cap():
    queue_some(5)
    OutboxMessage.objects.filter(pk=queue_some(1)[0].pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=1)
    )
    assert queue.due_count("site", 100) == 5
    assert queue.due_count("site", 3) == 3
    assert queue.due_count("fallback", 100) == 0
    queue.claim("worker-a", 2, LEASE)
    assert queue.due_count("site", 100) == 3


def test_a_claimed_message_has_the_same_values_as_the_orm_reads():
    """Claims build their objects from hand-written SQL: every field must come back as the
    ORM reads it (aware datetimes, JSON, bytes), or the worker would send or record wrongly."""
    (message,) = queue_some(1)
    OutboxMessage.objects.filter(pk=message.pk).update(
        recipient_status={"a@example.net": "451 4.7.1 Try again later"},
        sent_at=timezone.now() - timedelta(days=1, microseconds=7),
        last_reply="451 4.7.1 Try again later",
    )
    (claimed,) = queue.claim("worker-a", 10, LEASE)
    stored = OutboxMessage.objects.get(pk=message.pk)
    for field in OutboxMessage._meta.concrete_fields:
        mine, theirs = getattr(claimed, field.attname), getattr(stored, field.attname)
        if isinstance(theirs, memoryview):
            mine, theirs = bytes(mine), bytes(theirs)
        assert mine == theirs, field.name
        assert type(mine) is type(theirs), field.name
    assert claimed.sent_at.utcoffset() == timedelta(0)
    assert claimed.recipient_status == {"a@example.net": "451 4.7.1 Try again later"}
    assert claimed._state.adding is False and claimed._state.db == stored._state.db


def test_a_claim_writes_the_lease_as_the_orm_does():
    """Leases are compared in SQL (recover_lost): every row must hold them in one format."""
    (message,) = queue_some(1)
    (claimed,) = queue.claim("worker-a", 1, LEASE)
    sql = "SELECT CAST(lease_expires_at AS TEXT) FROM delivery_outboxmessage WHERE id = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [message.pk])
        (by_claim,) = cursor.fetchone()
        OutboxMessage.objects.filter(pk=message.pk).update(
            lease_expires_at=claimed.lease_expires_at
        )
        cursor.execute(sql, [message.pk])
        (by_orm,) = cursor.fetchone()
    assert by_claim == by_orm
