"""Claims sized per connection, leases that cannot be lost unnoticed, and the lease check.

The tests with several connections or workers at once run them as processes: see
test_connections_processes.py.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connections

from postroom.config import current_config
from postroom.delivery import queue
from postroom.delivery.connections import HeldBatch, Ramp, claim_size, runnable_seconds
from postroom.delivery.limits import ConnectionSlots, Throttle
from postroom.delivery.models import OutboxMessage
from postroom.delivery.outcomes import LeaseLost
from postroom.delivery.transports.smtp import SmtpTransport
from postroom.delivery.worker import Worker
from sites import queue_mail, use_smtp_server

pytestmark = pytest.mark.django_db(transaction=True)


def test_claims_are_a_share_of_the_queue_and_fit_in_half_a_lease():
    lease = timedelta(seconds=300)
    assert claim_size(200, 10, lease, None) == 20
    assert claim_size(5000, 10, lease, None) == 100
    assert claim_size(3, 10, lease, None) == 1
    assert claim_size(200, 10, timedelta(seconds=10), seconds_per_message=1.0) == 5


def test_a_lease_lost_mid_batch_stops_it_at_once(isolated_site, smtp_server, monkeypatch):
    server = smtp_server(pipelining=True)
    use_smtp_server(isolated_site, server.port)
    rows = queue_mail(5)
    send = SmtpTransport.send

    def send_then_lose_the_lease(
        self: Any, message: Any, before_content: Any = None, then: Any = None
    ) -> Any:
        result = send(self, message, before_content, then)
        # Another worker took over the batch (the lease had run out).
        OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).update(claimed_by="other")
        return result

    monkeypatch.setattr(SmtpTransport, "send", send_then_lose_the_lease)

    Worker().run_once()

    assert len(server.messages) == 1  # nothing more went out once the loss showed


def test_a_lease_no_longer_than_twice_the_smtp_timeout_stops_the_worker(isolated_site, monkeypatch):
    use_smtp_server(isolated_site, 2525, timeout=3)
    monkeypatch.setenv("POSTROOM_LEASE_SECONDS", "5")
    [problem] = current_config().blocking_problems("worker")
    assert problem.key == "POSTROOM_LEASE_SECONDS"
    assert "could outlast it" in problem.message
    assert current_config().blocking_problems("web") == ()

    monkeypatch.setenv("POSTROOM_LEASE_SECONDS", "6.5")
    assert current_config().blocking_problems("worker") == ()


def test_a_renewal_that_finds_a_message_gone_stops_the_batch(isolated_site):
    rows = queue_mail(3)
    lease = timedelta(seconds=60)
    batch = queue.claim("me", 3, lease)
    held = HeldBatch("me", lease)
    held.hold([m.pk for m in batch], time.monotonic())
    held.renew()
    held.check()  # all three still held

    OutboxMessage.objects.filter(pk=rows[1].pk).update(claimed_by="other")
    held.renew()

    assert "renewed only 2 of the 3" in held.lost
    with pytest.raises(LeaseLost):
        held.check()


def test_a_lease_about_to_run_out_stops_the_batch_before_content(isolated_site):
    held = HeldBatch("me", timedelta(seconds=5))
    held.hold([1], time.monotonic() - 4)  # one second left
    held.check(margin=0.5)
    with pytest.raises(LeaseLost, match="less than the 2 s"):
        held.check(margin=2)


def test_connections_woken_together_look_and_claim_one_at_a_time(
    isolated_site, smtp_server, monkeypatch
):
    """One new message and four idle connections: one claims it, the others find nothing
    due and claim nothing (on SQLite each claim takes the write lock the senders need)."""
    server = smtp_server(pipelining=True)
    use_smtp_server(isolated_site, server.port)
    queue_mail(1)
    claims: list[int] = []
    due_count, claim = queue.due_count, queue.claim

    def slow_due_count(*args: Any, **kwargs: Any) -> int:
        found = due_count(*args, **kwargs)
        time.sleep(0.2)  # every connection would have looked before the first one claimed
        return found

    def counted_claim(*args: Any, **kwargs: Any) -> list[OutboxMessage]:
        batch = claim(*args, **kwargs)
        claims.append(len(batch))
        return batch

    monkeypatch.setattr(queue, "due_count", slow_due_count)
    monkeypatch.setattr(queue, "claim", counted_claim)
    parent, ramp, throttle = Worker("w"), Ramp(4), Throttle(4)
    ramp.active = 4
    lanes = [Worker(f"w/{index}") for index in range(4)]
    for lane in lanes:
        lane._throttle, lane._ramp, lane._claiming = throttle, ramp, parent._claiming

    def look(lane: Worker, index: int) -> None:
        try:
            lane._lane_once(index, 4, threading.Event(), ConnectionSlots(0))
        finally:
            lane.close_connection()
            connections.close_all()

    threads = [threading.Thread(target=look, args=(lane, n)) for n, lane in enumerate(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert claims == [1]
    assert len(server.messages) == 1


def far_ramp(most: int = 4) -> Ramp:
    ramp = Ramp(most)
    ramp.connected(waited=0.1)
    ramp.sent(waited=0.1, cpu=0.001, due=0)
    assert ramp.far
    return ramp


def test_a_count_of_waiting_mail_opens_connections_once():
    lane, ramp = Worker("w/0"), far_ramp(8)
    lane._ramp, lane._due_left = ramp, 1
    for _ in range(6):  # six messages of the batch claimed when one more was waiting
        lane._measure(0.1, time.thread_time(), runnable_seconds())
    assert ramp.active == 2


def test_the_main_loop_opens_connections_only_while_every_one_is_busy(isolated_site):
    queue_mail(1)
    parent, ramp = Worker("w"), far_ramp()
    parent._lanes = [Worker("w/0"), Worker("w/1")]
    parent._open_for_waiting_mail(ramp)
    assert ramp.active == 1  # the idle connection takes it
    parent._lanes[0]._busy = True
    parent._open_for_waiting_mail(ramp)
    assert ramp.active == 2


def test_a_failed_start_leaves_the_connection_to_its_first_batch(isolated_site, monkeypatch):
    class BrokenSlots(ConnectionSlots):
        def acquire(self, holder: str) -> int | None:
            raise DatabaseError("database is locked")

    lane = Worker("w/0")
    lane._ramp = Ramp(2)
    lane._warm_up_safely(BrokenSlots(1))  # logged, not raised: the connection's loop goes on
    assert lane._kept is None and lane._slots is None
