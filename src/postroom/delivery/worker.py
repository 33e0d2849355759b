"""The delivery worker: claims due messages from the outbox and hands them to a transport.

Each message's outcome is committed before the next message's content goes out, so a worker
killed in the middle of a batch leaves at most the one message whose DATA the server had
just accepted to be sent again (its lease runs out and another worker takes it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from datetime import timedelta

from django.db import DatabaseError, close_old_connections, connections
from django.utils import timezone

from postroom.config import current_config
from postroom.core import chores
from postroom.delivery import checkpoint, queue, results, suppression
from postroom.delivery.backup import OPENING_STEPS
from postroom.delivery.connections import (
    Bell,
    HeldBatch,
    LeaseKeeper,
    Ramp,
    claim_size,
    forget_runnable_seconds,
    runnable_seconds,
)
from postroom.delivery.limits import ConnectionSlots, SendingRate, Throttle, says_too_many
from postroom.delivery.models import (
    Channel,
    OutboxMessage,
    Status,
    WorkerHeartbeat,
)
from postroom.delivery.outcomes import LeaseLost, OutcomeNotSaved, OutcomeWriter
from postroom.delivery.policy import DeliveryPolicy, current_policy
from postroom.delivery.routing import Route, current_route, fallback_route
from postroom.delivery.suppression import Envelope
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
# A connection that had nothing to send for this long is closed (and its slot freed); until
# then the next message goes out without a new connection, TLS and login (3-5 round trips).
IDLE_CLOSE_SECONDS = 10.0
BURST_RETRIES_AFTER_ERROR = 2  # a burst run tries again this many times after errors in a row


def default_lease() -> timedelta:
    """``POSTROOM_LEASE_SECONDS`` (default 300). An invalid value stops the worker commands
    from starting (``config.ensure_can_start``), so the default here is never a silent one."""
    return timedelta(seconds=float(current_config().hosting.lease_seconds.value))


class Worker:
    """Sends over one connection (``run_once``, ``deliver``); ``run`` starts the worker's
    connections, one thread and one Worker each (see delivery.connections)."""

    def __init__(
        self,
        name: str | None = None,
        batch_size: int = BATCH_SIZE,
        lease: timedelta | None = None,
        inbox_port: int | None = None,
        connections: int | None = None,
    ) -> None:
        self.inbox_port = inbox_port  # the catcher of this process, when not the configured port
        self.id = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.batch_size = batch_size
        self.lease = lease or default_lease()
        self.connections = connections
        self._delivered = 0
        self._failed = 0
        self._rate = SendingRate(0)
        self._outcomes = OutcomeWriter(self.id)
        self._held = HeldBatch(self.id, self.lease)
        self._keeper: LeaseKeeper | None = None  # renews on a timer when set, else inline
        self._throttle: Throttle | None = None
        self._ramp: Ramp | None = None  # how many connections the worker wants open now
        self._due_left = 0  # messages due besides this connection's batch, when it claimed
        self._seconds_per_message: float | None = None
        self._lanes: list[Worker] = []
        self._lane_threads: list[threading.Thread] = []
        self._peers: list[Worker] = []
        self._busy = False  # a connection claiming or sending
        self._kept: tuple[str, Transport] | None = None  # a connection's open transport
        self._slots: ConnectionSlots | None = None  # set while this connection holds a slot
        self._last_sent = 0.0
        self._last_beat = 0.0
        self._last_housekeeping = 0.0
        self._had_route: dict[str, bool] = {}
        self._last_hold_check = 0.0
        self._claiming = threading.Lock()  # shared by a worker's connections (see run)

    @property
    def delivered(self) -> int:
        return self._delivered + sum(lane.delivered for lane in self._lanes)

    @property
    def failed(self) -> int:
        return self._failed + sum(lane.failed for lane in self._lanes)

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event, burst: bool = False) -> None:
        """Deliver until ``stop`` is set (or, with ``burst``, until nothing is due)."""
        count = self.connections or int(current_config().delivery.connections.value)
        slots = ConnectionSlots(int(current_config().delivery.max_connections.value))
        keeper = LeaseKeeper(self.lease, slots)
        throttle = Throttle(count)
        bell = Bell()
        ramp = Ramp(count, bell)
        for index in range(count):
            lane = Worker(f"{self.id}/{index}", self.batch_size, self.lease, self.inbox_port)
            lane._keeper, lane._throttle, lane._ramp = keeper, throttle, ramp
            lane._claiming = self._claiming
            keeper.add(lane._held)
            self._lanes.append(lane)
        threads = [
            threading.Thread(
                target=lane._run_lane,
                args=(index, count, stop, burst, bell, slots),
                name=f"connection-{index}",
                daemon=True,
            )
            for index, lane in enumerate(self._lanes)
        ]
        for lane in self._lanes:
            lane._lane_threads, lane._peers = threads, self._lanes
        waiter = Waiter()
        checkpointer = checkpoint.Checkpointer()
        try:
            # Before any connection looks: a burst whose connections find nothing routed to
            # send ends at once, and unroutable mail must be held by then.
            self._hold_or_release(self._route_presence())
            keeper.start()
            checkpointer.start()
            for thread in threads:
                thread.start()
            while not stop.is_set() and any(thread.is_alive() for thread in threads):
                try:
                    self._hold_or_release(self._route_presence())
                    self._heartbeat()
                    if burst:  # the first connection ends last: the run ends with it
                        threads[0].join(0.2)
                        continue
                    waiter.wait(waiter.idle_seconds)
                    self._open_for_waiting_mail(ramp)
                    bell.ring()  # woken or not: the connections look again (retries come due)
                    if not any(lane._held.holding for lane in self._lanes):
                        self._housekeeping()
                except Exception:
                    log.exception("The delivery worker hit an unexpected error; it carries on")
                    close_old_connections()
                    stop.wait(1.0)
        finally:
            if not burst:
                stop.set()
            bell.ring()
            for thread in threads:
                thread.join(60)
            keeper.stop()
            checkpointer.stop()
            waiter.close()
            WorkerHeartbeat.objects.filter(worker_id=self.id).delete()
            # A burst run (e.g. from cron) lets a started report or alert finish; a stopping
            # worker gives them a moment.
            chores.wait_for_threads(CHORE_GRACE_BURST if burst else CHORE_GRACE_STOP)

    def _open_for_waiting_mail(self, ramp: Ramp) -> None:
        """Woken while every wanted connection is busy with a far server: what is due waits
        a whole message's round trips for one of them, so more open now (see Ramp)."""
        wanted = self._lanes[: ramp.active]
        if ramp.far and wanted and all(lane._busy for lane in wanted):
            ramp.claimed(queue.due_count(Channel.SITE, ramp.most))

    def _route_presence(self) -> dict[str, bool]:
        return {
            Channel.SITE: current_route(inbox_port=self.inbox_port) is not None,
            Channel.FALLBACK: fallback_route(self.inbox_port) is not None,
        }

    def _run_lane(
        self,
        index: int,
        count: int,
        stop: threading.Event,
        burst: bool,
        bell: Bell,
        slots: ConnectionSlots,
    ) -> None:
        """One connection's loop: claim its share, send it, until stopped (or nothing is due)."""
        assert self._throttle is not None and self._ramp is not None
        try:
            if index == 0 and not burst:
                self._warm_up_safely(slots)
            errors = 0  # unexpected errors in a row
            while not stop.is_set():
                seen = bell.rung
                try:
                    if not self._throttle.may_use(index):
                        self.close_connection()
                        if burst:
                            return
                        bell.wait(seen, 1.0)
                        continue
                    if not self._ramp.wanted(index):
                        self.close_connection()
                        if burst and self._ramp.finished:
                            return
                        bell.wait(seen, 0.2 if burst else 5.0)
                        continue
                    self._busy = True
                    try:
                        attempted = self._lane_once(index, count, stop, slots)
                        errors = 0
                    finally:
                        self._busy = False
                except LeaseLost as lost:
                    log.warning("Connection %s stopped its batch: %s", self.id, lost)
                    self._give_back()
                    attempted = 1
                except Exception:
                    log.exception("Connection %s hit an unexpected error; it carries on", self.id)
                    self._give_back()
                    close_old_connections()
                    stop.wait(1.0)
                    # A burst run ends when nothing is attempted: one error (a lock, a dropped
                    # connection) must not end it with mail still due, a lasting one must.
                    errors += 1
                    attempted = 1 if burst and errors <= BURST_RETRIES_AFTER_ERROR else 0
                if attempted == 0:
                    if index == 0:
                        self._ramp.idle()
                    if burst and (index > 0 or not self._others_sending()):
                        if index == 0:
                            self._ramp.finished = True
                            bell.ring()
                        return  # the first connection last: it takes what others gave back
                    if time.monotonic() - self._last_sent > IDLE_CLOSE_SECONDS:
                        self.close_connection()
                    bell.wait(seen, 0.2 if burst else 5.0)
                else:
                    self._last_sent = time.monotonic()
        finally:
            self.close_connection()
            connections.close_all()
            forget_runnable_seconds()

    def _warm_up(self, slots: ConnectionSlots) -> None:
        """A worker's first connection opens as it starts: the greeting and EHLO tell how far
        the server is, so the first mail after a quiet spell already gets more connections
        while it waits (see Ramp). Unused, it closes after IDLE_CLOSE_SECONDS. A failure is
        left to the first batch, which records it on its messages."""
        assert self._ramp is not None
        route = current_route(inbox_port=self.inbox_port)
        if route is None or slots.acquire(self.id) is None:
            return
        self._slots = slots
        try:
            self._open_measured(self._transport_for(route))
        except DeliveryError as error:
            log.info("The first connection to %s failed: %s", route.description, error)
            self.close_connection()
            return
        self._last_sent = time.monotonic()  # kept open as if it had just sent

    def _warm_up_safely(self, slots: ConnectionSlots) -> None:
        """:meth:`_warm_up`; whatever goes wrong, the connection goes on to its loop."""
        try:
            self._warm_up(slots)
        except Exception:
            log.exception("Opening the first connection failed; the first batch opens it")
            self.close_connection()
            close_old_connections()

    def _open_measured(self, transport: Transport) -> None:
        """Open a new connection and tell the ramp how long its greeting and EHLO waited on
        the server (not on this process, nor on a processor)."""
        started, cpu_started = time.monotonic(), time.thread_time()
        runnable_started = runnable_seconds()
        transport.open()
        if self._ramp is not None:
            waited = time.monotonic() - started - (time.thread_time() - cpu_started)
            self._ramp.connected(max(waited - (runnable_seconds() - runnable_started), 0.0))

    def _open_for_mail_due_meanwhile(self, channel: str) -> None:
        """A new connection to a far server: mail that came due while it opened gets more."""
        if self._ramp is None or not self._ramp.far:
            return
        try:
            self._ramp.claimed(queue.due_count(channel, self._ramp.most))
        except DatabaseError as error:  # only a guess at more connections: the batch goes on
            log.warning("Could not count the mail due: %s", error)

    def _others_sending(self) -> bool:
        """Whether another connection is still at work (it may give messages back)."""
        return any(
            thread.is_alive() and lane._busy
            for thread, lane in zip(self._lane_threads[1:], self._peers[1:], strict=True)
        )

    def _lane_once(
        self, index: int, count: int, stop: threading.Event, slots: ConnectionSlots
    ) -> int:
        channels = [Channel.SITE] + ([Channel.FALLBACK] if index == 0 else [])
        policy = current_policy()
        _relax_commit_durability()
        checkpoint.leave_to_thread()  # run() started it
        attempted = 0
        for channel in channels:
            route = (
                current_route(inbox_port=self.inbox_port)
                if channel == Channel.SITE
                else fallback_route(self.inbox_port)
            )
            if route is None:
                continue
            assert self._throttle is not None and self._ramp is not None
            # One connection of this worker looks and claims at a time: woken together, they
            # would all try to claim the one new message, and on SQLite each try takes the
            # write lock that the sending connections need for their outcomes.
            with self._claiming:
                due = queue.due_count(channel, count * self.batch_size)
                if due == 0:
                    continue
                if self._slots is None and slots.acquire(self.id) is not None:
                    self._slots = slots  # held until the connection closes
                if self._slots is not None:
                    senders = min(self._ramp.senders(), self._throttle.allowed)
                    size = claim_size(due, senders, self.lease, self._seconds_per_message)
                    started = time.monotonic()
                    batch = queue.claim(self.id, min(size, self.batch_size), self.lease, [channel])
            if self._slots is None:
                stop.wait(0.5)  # every connection of the deployment is taken
                return 1
            self._due_left = due - len(batch)
            self._ramp.claimed(self._due_left)
            if batch:
                self.deliver(batch, route, policy, stop, started)
                per = (time.monotonic() - started) / len(batch)
                old = self._seconds_per_message
                self._seconds_per_message = per if old is None else (old + per) / 2
                attempted += len(batch)
        return attempted

    def _transport_for(self, route: Route) -> Transport:
        """A connection (``run``) keeps its transport open between batches; ``run_once`` and
        ``deliver`` alone open one per batch."""
        if self._kept is not None and self._kept[0] == route.description:
            return self._kept[1]
        self.close_connection(keep_slot=True)
        transport = route.make_transport()
        if self._keeper is not None:
            self._kept = (route.description, transport)
        return transport

    def close_connection(self, keep_slot: bool = False) -> None:
        kept, self._kept = self._kept, None
        if kept is not None:
            try:
                kept[1].close()
            except Exception:
                log.warning("Closing the connection to %s failed", kept[0])
        slots, self._slots = self._slots, None
        if slots is not None and not keep_slot:
            try:
                slots.release(self.id)
            except Exception as error:  # its lease runs out within a minute
                log.warning("Could not free the connection slot of %s: %s", self.id, error)
        elif keep_slot:
            self._slots = slots

    def _give_back(self) -> None:
        """Messages of a stopped batch that this connection still holds go back to the queue
        untried (those whose lease ran out are someone else's, and stay theirs)."""
        left = self._held.clear()
        if left:
            try:
                queue.release(self.id, left)
            except Exception as error:  # the lease runs out; another worker takes them then
                log.warning("Could not give back %d messages: %s", len(left), error)

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Deliver one batch of due messages over one connection; returns how many were
        attempted."""
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
            started = time.monotonic()
            batch = queue.claim(self.id, self.batch_size, self.lease, channels=[channel])
            if batch:
                try:
                    self.deliver(batch, routes[channel], policy, stop, started)
                except LeaseLost as lost:
                    log.warning("%s stopped its batch: %s", self.id, lost)
                    self._give_back()
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
        claimed_at: float | None = None,
    ) -> None:
        """Send ``messages`` (claimed at ``claimed_at``, by time.monotonic()) in order."""
        self._held.hold([m.pk for m in messages], claimed_at or time.monotonic())
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
        fresh = self._kept is None or self._kept[0] != route.description
        transport = self._transport_for(route)
        started = time.monotonic()
        if self._rate.rate != policy.messages_per_second:
            self._rate = SendingRate(policy.messages_per_second)
        try:
            if not fresh:
                transport.open()  # nothing to do unless the server dropped it meanwhile
            else:
                self._open_measured(transport)
                self._open_for_mail_due_meanwhile(messages[0].channel)
        except DeliveryError as error:
            if self._too_many(error, messages):
                self.close_connection()
                return
            waiting = results.as_waiting(error)
            for message in messages:
                self._record_failure(message, route, waiting, started, policy)
            self.close_connection(keep_slot=True)
            return
        margin = float(getattr(transport, "timeout", 0.0) or 0.0)
        renew_at = time.monotonic() + self.lease.total_seconds() / 3
        upcoming: tuple[OutboxMessage, OutgoingMessage | Envelope] | None = None
        abandoned = False
        try:
            for index, message in enumerate(messages):
                if _set(stop):
                    self._outcomes.flush()
                    queue.release(self.id, [m.pk for m in messages[index:]])
                    self._held.clear()
                    return
                if self._keeper is None and time.monotonic() > renew_at:
                    self._outcomes.flush()
                    self._held.renew()
                    renew_at = time.monotonic() + self.lease.total_seconds() / 3
                self._held.check()
                if self._rate.will_query():
                    # On PostgreSQL the last outcome may still be on the wire; one connection
                    # carries one command at a time.
                    self._outcomes.flush()
                if not self._rate.take(stop):
                    continue  # stopping: the next turn gives the rest back
                # With the next message known, its envelope can go out with this content.
                if upcoming is not None and upcoming[0] is message:
                    outgoing = upcoming[1]
                else:
                    outgoing = self._outgoing(message)
                upcoming = None
                if index + 1 < len(messages) and self._rate.ready() and not _set(stop):
                    following = messages[index + 1]
                    with contextlib.suppress(Exception):  # it fails on its own turn, if at all
                        upcoming = (following, self._outgoing(following))
                then = upcoming[1] if upcoming else None
                if not isinstance(then, OutgoingMessage) or isinstance(outgoing, Envelope):
                    then = None
                try:
                    self._send_one(transport, message, route, policy, margin, outgoing, then)
                except _TooMany as too_many:
                    self._outcomes.flush()
                    if self._too_many(too_many.error, messages[index:]):
                        return
                    # Lowered to one connection meanwhile: an ordinary failure, retried later.
                    self._record_failure(message, route, too_many.error, time.monotonic(), policy)
        except BaseException:
            # An envelope may have gone ahead for a message that will not follow now (a lost
            # lease, a database error): the connection must not carry anything else.
            abandoned = True
            raise
        finally:
            kept = self._kept is not None and self._kept[1] is transport
            if kept and not abandoned and not _set(stop):
                pass  # open for the next batch
            elif kept:
                self.close_connection(keep_slot=True)
            else:
                try:
                    transport.close()
                except Exception:
                    log.warning("Closing the connection to %s failed", route.description)

    def _too_many(self, error: DeliveryError, untried: list[OutboxMessage]) -> bool:
        """A 421 or "too many connections" while this worker has connections to spare: fewer
        connections for a while, and the messages go back to the queue unharmed."""
        throttle = self._throttle
        if throttle is None or throttle.allowed <= 1:
            return False
        if not says_too_many(error.reply, error.message):
            return False
        throttle.refused(error.reply or error.message)
        self._held.clear()
        queue.release(self.id, [m.pk for m in untried])
        return True

    def _outgoing(self, message: OutboxMessage) -> OutgoingMessage | Envelope:
        """What goes on the wire for ``message``, or its envelope when every recipient is
        suppressed (then there is no transaction with the server)."""
        envelope = suppression.screen(message, results.pending_recipients(message))
        if envelope.all_suppressed:
            return envelope
        return OutgoingMessage(message.sender, envelope.recipients, bytes(message.raw))

    def _send_one(
        self,
        transport: Transport,
        message: OutboxMessage,
        route: Route,
        policy: DeliveryPolicy,
        margin: float = 0.0,
        outgoing: OutgoingMessage | Envelope | None = None,
        then: OutgoingMessage | None = None,
    ) -> None:
        """Send ``message`` (``outgoing``: what _outgoing() made of it); ``then`` is the next
        message, whose envelope may go out with this content (Transport.send)."""
        started = time.monotonic()
        if outgoing is None:
            outgoing = self._outgoing(message)
        if isinstance(outgoing, Envelope):  # nobody left to send to
            fields = suppression.outcome_when_all_skipped(message, outgoing)
            self._save(message, route, started, succeeded=False, step="suppressed", **fields)
            return

        flushing = 0.0

        def before_content() -> None:
            # The previous message's outcome is committed, and this batch still held with
            # time for the final reply, before this message can be accepted.
            nonlocal flushing
            flush_started = time.monotonic()
            self._outcomes.flush()
            flushing = time.monotonic() - flush_started
            self._held.check(margin)

        send_started, cpu_started = time.monotonic(), time.thread_time()
        runnable_started = runnable_seconds()
        try:
            result = transport.send(outgoing, before_content=before_content, then=then)
            self._measure(time.monotonic() - send_started - flushing, cpu_started, runnable_started)
        except DeliveryError as error:
            throttle = self._throttle
            if throttle and throttle.allowed > 1 and says_too_many(error.reply, error.message):
                raise _TooMany(error) from error
            if error.step in OPENING_STEPS:  # the server dropped the connection; opening anew
                error = results.as_waiting(error)
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
            # The server has answered its content: whatever goes wrong from here on, the
            # message must not go back to the queue untried (its lease decides, as for a kill).
            self._held.done(message.pk)
            self._record_result(message, route, result, started, policy)

    def _measure(self, elapsed: float, cpu_started: float, runnable_started: float) -> None:
        """Tell the ramp how long this message waited on the server (see connections.Ramp):
        neither this thread's processor time nor its wait for a processor."""
        if self._ramp is not None:
            cpu = time.thread_time() - cpu_started
            runnable = runnable_seconds() - runnable_started
            if self._ramp.sent(max(elapsed - cpu - runnable, 0.0), cpu, self._due_left):
                self._due_left = 0  # the connections for those messages are opening

    # -- outcomes ----------------------------------------------------------------------

    def _record_result(
        self,
        message: OutboxMessage,
        route: Route,
        result: SendResult,
        started: float,
        policy: DeliveryPolicy,
    ) -> None:
        fields = results.after_result(message, result, timezone.now(), policy)
        self._save(
            message,
            route,
            started,
            succeeded=True,
            step="",
            reply=result.reply,
            connection=result.connection,
            **fields,
        )
        self._delivered += 1
        log.debug("Sent %s via %s: %s", message.message_id, route.description, result.reply)

    def _record_failure(
        self,
        message: OutboxMessage,
        route: Route,
        error: DeliveryError,
        started: float,
        policy: DeliveryPolicy,
    ) -> None:
        fields = results.after_failure(message, error, timezone.now(), policy)
        self._save(
            message,
            route,
            started,
            succeeded=False,
            step=error.step,
            reply=error.message,
            connection=error.connection,
            **fields,
        )
        retrying = fields["status"] == Status.QUEUED
        self._failed += 0 if retrying else 1
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
        connection: str = "",
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
            "connection": connection or route.connection,  # main or backup, relay, inbox
            "outcome": fields["status"],
        }
        self._held.done(message.pk)
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


class _TooMany(Exception):
    def __init__(self, error: DeliveryError) -> None:
        super().__init__(error.message)
        self.error = error


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


def _set(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


def run(
    stop: threading.Event,
    burst: bool = False,
    inbox_port: int | None = None,
    connections: int | None = None,
) -> None:
    """Deliver until ``stop``; ``inbox_port`` is where `serve` started its catcher;
    ``connections`` overrides Postroom:Delivery:Connections."""
    Worker(inbox_port=inbox_port, connections=connections).run(stop, burst)


def run_once(limit: int = BATCH_SIZE) -> int:
    return Worker(batch_size=limit).run_once()


def stop_all(stop: threading.Event) -> None:
    stop.set()
    notify_now()
