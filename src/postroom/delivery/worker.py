"""The delivery worker: claims due messages from the outbox and hands them to a transport.

Each message's outcome is committed before the next message's content goes out, so a worker
killed in the middle of a batch leaves at most the one message whose DATA the server had
just accepted to be sent again (its lease runs out and another worker takes it).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta

from django.db import close_old_connections, connections
from django.utils import timezone

from postroom.config import current_config
from postroom.core import chores
from postroom.delivery import queue, retry, suppression
from postroom.delivery.models import (
    Channel,
    OutboxMessage,
    Status,
    WorkerHeartbeat,
)
from postroom.delivery.outcomes import OutcomeNotSaved, OutcomeWriter
from postroom.delivery.policy import DeliveryPolicy, current_policy
from postroom.delivery.routing import Route, current_route, fallback_route
from postroom.delivery.transports.base import (
    DeliveryError,
    OutgoingMessage,
    SendResult,
    Transport,
)
from postroom.delivery.wakeup import Waiter, notify_now

log = logging.getLogger("postroom.delivery")

BATCH_SIZE = 100
HEARTBEAT_SECONDS = 5.0
HOUSEKEEPING_SECONDS = 60.0
HOLD_CHECK_SECONDS = 1.0
CHORE_GRACE_BURST = 60.0  # the health checks are bounded well below this
CHORE_GRACE_STOP = 5.0


def default_lease() -> timedelta:
    """``POSTROOM_LEASE_SECONDS`` (default 300). An invalid value stops the worker commands
    from starting (``config.ensure_can_start``), so the default here is never a silent one."""
    return timedelta(seconds=float(current_config().hosting.lease_seconds.value))


class Pacer:
    """Spaces sends out to at most ``rate`` messages per second (0: no limit)."""

    def __init__(self) -> None:
        self._next = 0.0

    def wait(self, rate: int, stop: threading.Event | None) -> None:
        if rate <= 0:
            return
        now = time.monotonic()
        if self._next > now:
            (stop or threading.Event()).wait(self._next - now)
        self._next = max(now, self._next) + 1.0 / rate


class Worker:
    def __init__(
        self,
        name: str | None = None,
        batch_size: int = BATCH_SIZE,
        lease: timedelta | None = None,
        inbox_port: int | None = None,
    ) -> None:
        self.inbox_port = inbox_port  # the catcher of this process, when not the configured port
        self.id = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.batch_size = batch_size
        self.lease = lease or default_lease()
        self.delivered = 0
        self.failed = 0
        self._pacer = Pacer()
        self._outcomes = OutcomeWriter(self.id)
        self._last_beat = 0.0
        self._last_housekeeping = 0.0
        self._had_route: dict[str, bool] = {}
        self._last_hold_check = 0.0

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event, burst: bool = False) -> None:
        """Deliver until ``stop`` is set (or, with ``burst``, until nothing is due)."""
        waiter = Waiter()
        try:
            while not stop.is_set():
                try:
                    attempted = self.run_once(stop)
                    self._heartbeat()
                    if attempted == 0:
                        self._housekeeping()
                except Exception:
                    log.exception("The delivery worker hit an unexpected error; it carries on")
                    close_old_connections()
                    attempted = 0
                    stop.wait(1.0)
                if burst and attempted == 0:
                    return
                if attempted == 0:
                    waiter.wait(waiter.idle_seconds)
        finally:
            waiter.close()
            WorkerHeartbeat.objects.filter(worker_id=self.id).delete()
            # A burst run (e.g. from cron) lets a started report or alert finish; a stopping
            # worker gives them a moment.
            chores.wait_for_threads(CHORE_GRACE_BURST if burst else CHORE_GRACE_STOP)

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Deliver one batch of due messages; returns how many were attempted."""
        routes = {
            Channel.SITE: current_route(inbox_port=self.inbox_port),
            Channel.FALLBACK: fallback_route(self.inbox_port),
        }
        self._hold_or_release({channel: route is not None for channel, route in routes.items()})
        routed = [channel for channel, route in routes.items() if route is not None]
        policy = current_policy()
        _relax_commit_durability()
        attempted = 0
        for channel in routed:  # one channel per batch: a batch is sent in claim order
            batch = queue.claim(self.id, self.batch_size, self.lease, channels=[channel])
            if batch:
                self.deliver(batch, routes[channel], policy, stop)
                attempted += len(batch)
        return attempted

    def _hold_or_release(self, has_route: dict[str, bool]) -> None:
        """Hold a channel's mail while it has no route, release it once it has one.

        At once when a route comes or goes, else once a second: only routed channels are
        claimed anyway, and the statements cost more than a batch's claim on a long queue.
        """
        due = time.monotonic() - self._last_hold_check >= HOLD_CHECK_SECONDS
        if has_route != self._had_route or due:
            for channel, routed in has_route.items():
                queue.hold_or_release(channel, routed)
            self._had_route, self._last_hold_check = has_route, time.monotonic()

    # -- one batch over one connection -------------------------------------------------------

    def deliver(
        self,
        messages: list[OutboxMessage],
        route: Route,
        policy: DeliveryPolicy,
        stop: threading.Event | None = None,
    ) -> None:
        suppression.prefetch(messages)  # now: no query may run while an outcome is in flight
        try:
            self._deliver(messages, route, policy, stop)
        finally:
            self._outcomes.flush()  # the last outcome, before anything else uses the database

    def _deliver(
        self,
        messages: list[OutboxMessage],
        route: Route,
        policy: DeliveryPolicy,
        stop: threading.Event | None,
    ) -> None:
        transport = route.make_transport()
        started = time.monotonic()
        try:
            transport.open()
        except DeliveryError as error:
            # A refused connection, greeting or login says nothing about these messages: even
            # a 5xx there (a wrong password) is a setting to fix, so they wait and are retried.
            waiting = DeliveryError(
                error.message, step=error.step, transient=True, reply=error.reply
            )
            for message in messages:
                self._record_failure(message, route, waiting, started, policy)
            return
        renew_at = time.monotonic() + self.lease.total_seconds() / 2
        try:
            for index, message in enumerate(messages):
                if stop is not None and stop.is_set():
                    self._outcomes.flush()
                    queue.release(self.id, [m.pk for m in messages[index:]])
                    return
                if time.monotonic() > renew_at:
                    self._outcomes.flush()
                    queue.renew_lease(self.id, [m.pk for m in messages[index:]], self.lease)
                    renew_at = time.monotonic() + self.lease.total_seconds() / 2
                self._pacer.wait(policy.messages_per_second, stop)
                self._send_one(transport, message, route, policy)
        finally:
            try:
                transport.close()
            except Exception:
                log.warning("Closing the connection to %s failed", route.description)

    def _send_one(
        self, transport: Transport, message: OutboxMessage, route: Route, policy: DeliveryPolicy
    ) -> None:
        started = time.monotonic()
        envelope = suppression.screen(message, pending_recipients(message))
        if envelope.all_suppressed:  # nobody left to send to: no transaction with the server
            fields = suppression.outcome_when_all_skipped(message, envelope)
            self._save(message, route, started, succeeded=False, step="suppressed", **fields)
            return
        outgoing = OutgoingMessage(
            sender=message.sender, recipients=envelope.recipients, raw=bytes(message.raw)
        )
        try:
            # The previous message's outcome is committed before this one can be accepted.
            result = transport.send(outgoing, before_content=self._outcomes.flush)
        except DeliveryError as error:
            self._record_failure(message, route, error, started, policy)
        except OutcomeNotSaved:
            raise  # the database, not this message: the batch stops, its leases run out
        except Exception as error:  # a poisoned message must not stall the queue
            log.exception("Unexpected error sending %s", message.message_id)
            problem = DeliveryError(
                f"Postroom could not send this message: {type(error).__name__}: {error}",
                step="internal",
                transient=False,
            )
            self._record_failure(message, route, problem, started, policy)
        else:
            self._record_result(message, route, result, started, policy)

    # -- outcomes ----------------------------------------------------------------------

    def _record_result(
        self,
        message: OutboxMessage,
        route: Route,
        result: SendResult,
        started: float,
        policy: DeliveryPolicy,
    ) -> None:
        now = timezone.now()
        states = dict(message.recipient_status)
        states.update({rcpt: "accepted" for rcpt in result.accepted})
        states.update(result.refused)
        waiting = [r for r, reply in result.refused.items() if retry.is_transient(reply)]
        if waiting and not _giving_up(message, now, policy):
            status = Status.QUEUED
        elif any(state == "accepted" for state in states.values()):
            status = Status.SENT
        else:
            status = Status.FAILED
        self._save(
            message,
            route,
            started,
            succeeded=True,
            step="",
            reply=result.reply,
            status=status,
            sent_at=now if status == Status.SENT else None,
            failed_at=now if status == Status.FAILED else None,
            last_reply=result.reply,
            recipient_status=states,
            next_attempt_at=retry.next_attempt_at(now, message.attempt_count),
        )
        self.delivered += 1
        log.debug("Sent %s via %s: %s", message.message_id, route.description, result.reply)

    def _record_failure(
        self,
        message: OutboxMessage,
        route: Route,
        error: DeliveryError,
        started: float,
        policy: DeliveryPolicy,
    ) -> None:
        now = timezone.now()
        giving_up = _giving_up(message, now, policy)
        retrying = error.transient and not giving_up
        reply = error.message
        if error.transient and giving_up and message.kind != "test":
            reply = f"Gave up after {_as_words(policy.give_up_after)}: {reply}"
        self._save(
            message,
            route,
            started,
            succeeded=False,
            step=error.step,
            reply=error.message,
            status=Status.QUEUED if retrying else Status.FAILED,
            failed_at=None if retrying else now,
            next_attempt_at=retry.next_attempt_at(now, message.attempt_count),
            last_reply=reply,
        )
        self.failed += 0 if retrying else 1
        log.warning(
            "Delivery of %s via %s failed at %s (%s): %s",
            message.message_id,
            route.description,
            error.step,
            "will retry" if retrying else "gave up",
            error.message,
        )

    def _save(
        self,
        message: OutboxMessage,
        route: Route,
        started: float,
        *,
        succeeded: bool,
        step: str,
        reply: str,
        **fields: object,
    ) -> None:
        """One attempt and the message's new state (committed together; see outcomes)."""
        elapsed = time.monotonic() - started
        attempt = {
            "message_id": message.pk,
            "started_at": timezone.now() - timedelta(seconds=elapsed),
            "duration_ms": int(elapsed * 1000),
            "transport": route.description,
            "succeeded": succeeded,
            "step": step,
            "reply": reply,
        }
        self._outcomes.write(message.pk, attempt, fields)

    # -- liveness and chores ---------------------------------------------------------------

    def _heartbeat(self) -> None:
        if time.monotonic() - self._last_beat < HEARTBEAT_SECONDS:
            return
        self._last_beat = time.monotonic()
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.id,
            defaults={
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "last_seen_at": timezone.now(),
                "delivered": self.delivered,
                "failed": self.failed,
            },
        )

    def _housekeeping(self) -> None:
        if time.monotonic() - self._last_housekeeping < HOUSEKEEPING_SECONDS:
            return
        self._last_housekeeping = time.monotonic()
        chores.run_all()


def pending_recipients(message: OutboxMessage) -> tuple[str, ...]:
    """Recipients not yet accepted and not refused for good: accepted ones are never resent."""
    states = message.recipient_status
    return tuple(
        rcpt
        for rcpt in message.envelope_recipients
        if rcpt not in states or (states[rcpt] != "accepted" and retry.is_transient(states[rcpt]))
    )


def _relax_commit_durability() -> None:
    """On PostgreSQL, commit outcomes without waiting for the disk flush.

    A killed worker loses nothing this way: the server has the commit. Only a crash of the
    PostgreSQL server itself can lose the last fraction of a second of outcomes; those
    messages are still marked sending, and are sent again once their lease runs out.
    """
    connection = connections[OutboxMessage.objects.db]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")


def _giving_up(message: OutboxMessage, now: datetime, policy: DeliveryPolicy) -> bool:
    return retry.should_give_up(message.created_at, now, message.kind, policy.give_up_after)


def _as_words(period: timedelta) -> str:
    hours = int(period.total_seconds() // 3600)
    return f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"


def run(stop: threading.Event, burst: bool = False, inbox_port: int | None = None) -> None:
    """Deliver until ``stop``; ``inbox_port`` is where `serve` started its catcher."""
    Worker(inbox_port=inbox_port).run(stop, burst)


def run_once(limit: int = BATCH_SIZE) -> int:
    return Worker(batch_size=limit).run_once()


def stop_all(stop: threading.Event) -> None:
    stop.set()
    notify_now()
