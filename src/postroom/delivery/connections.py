"""Many SMTP connections per worker, and leases that cannot be lost unnoticed.

A worker sends over ``Postroom:Delivery:Connections`` connections at once (default 10), one
thread each with its own blocking SMTP session (postroom.smtp, pipelined as before). Over the
internet a message costs two round trips on one connection whatever the machine does, so the
rate grows with the connections: at 50 ms from the provider one connection carries at most
10 messages a second, ten carry 100. Ten because the common providers take that many from one
client without complaint (Microsoft 365 and Gmail throttle beyond ~10-20 concurrent sessions,
Postfix opens up to 20 per destination); ``MaxConnections`` caps all workers together.

Threads, not an event loop: each connection spends its time waiting on the network, which
releases the GIL, and the session code stays the one SMTP client. Measured over a 50 ms link
(bench/delivery.py --remote, on a busy 2-CPU machine) ten threads sent 80 messages a second on
PostgreSQL, 80% of the theoretical 1/(2 x RTT) per connection, and 47 on SQLite, whose single
write lock the ten connections' outcome writes share.

Each connection claims its own batches under its own name (``host:pid:thread/3``), so the
queue's rules hold per connection: a killed worker leaves at most one duplicate per connection
that was sending.

Leases: :class:`LeaseKeeper` renews every connection's held messages on a timer, every third
of the lease, whatever one message takes. A renewal that finds fewer messages than the
connection holds marks it lost; the connection then sends nothing more from that batch (it
checks right before each message's content goes out) and says why in the log.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import timedelta

from django.db import DatabaseError, close_old_connections, connections

from postroom.delivery import queue
from postroom.delivery.limits import SLOT_LEASE, ConnectionSlots
from postroom.delivery.outcomes import LeaseLost

log = logging.getLogger("postroom.delivery")

MAX_CLAIM = 100


def claim_size(due: int, senders: int, lease: timedelta, seconds_per_message: float | None) -> int:
    """How many messages one connection claims: its share of what is due (so that a queue of
    200 is spread across every connection), no more than it can send in half a lease."""
    share = math.ceil(due / max(senders, 1))
    size = min(MAX_CLAIM, max(share, 1))
    if seconds_per_message:
        size = min(size, max(1, int(lease.total_seconds() / 2 / seconds_per_message)))
    return size


class HeldBatch:
    """The messages one connection holds and has not recorded yet, and whether it still may."""

    def __init__(self, claimer: str, lease: timedelta) -> None:
        self.claimer = claimer
        self.lease = lease
        self._pending: list[int] = []
        self._lock = threading.Lock()
        self._expires = 0.0  # time.monotonic() at which the lease runs out, as far as we know
        self.lost = ""  # why this batch must stop, once it must

    def hold(self, ids: list[int], claimed_at: float) -> None:
        with self._lock:
            self._pending, self.lost = list(ids), ""
            self._expires = claimed_at + self.lease.total_seconds()

    @property
    def holding(self) -> bool:
        return bool(self._pending)

    def done(self, pk: int) -> None:
        """The outcome of ``pk`` is about to be written: it is no longer renewed."""
        with self._lock:
            if pk in self._pending:
                self._pending.remove(pk)

    def clear(self) -> list[int]:
        with self._lock:
            left, self._pending = self._pending, []
            return left

    def renew(self) -> None:
        """Extend the lease of every held message; any missing one marks the batch lost."""
        with self._lock:  # an outcome written meanwhile would look like a lost message
            if not self._pending or self.lost:
                return
            started = time.monotonic()
            try:
                renewed = queue.renew_lease(self.claimer, self._pending, self.lease)
            except DatabaseError as error:  # the local deadline stops the batch in time
                log.warning("Could not renew the lease of %s: %s", self.claimer, error)
                return
            if renewed < len(self._pending):
                self.lost = (
                    f"{self.claimer} renewed only {renewed} of the {len(self._pending)} messages"
                    " it holds: the lease of the others ran out and another worker may have"
                    " them. It sends nothing more from this batch."
                )
                log.warning("%s", self.lost)
            else:
                self._expires = started + self.lease.total_seconds()

    def check(self, margin: float = 0.0) -> None:
        """Raise LeaseLost unless the batch is still held with ``margin`` seconds to spare."""
        if self.lost:
            raise LeaseLost(self.lost)
        left = self._expires - time.monotonic()
        if left < margin:
            self.lost = (
                f"{self.claimer} has {max(left, 0):.1f} s of its lease left, less than the"
                f" {margin:g} s one message may take (the renewals did not get through): it"
                " sends nothing more from this batch."
            )
            log.warning("%s", self.lost)
            raise LeaseLost(self.lost)


class LeaseKeeper:
    """One thread per worker renewing every connection's leases (and connection slots)."""

    def __init__(self, lease: timedelta, slots: ConnectionSlots) -> None:
        self.interval = min(lease.total_seconds(), SLOT_LEASE.total_seconds()) / 3
        self.slots = slots
        self._held: list[HeldBatch] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def add(self, held: HeldBatch) -> None:
        self._held.append(held)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def renew_all(self) -> None:
        for held in list(self._held):
            held.renew()
            try:
                self.slots.renew(held.claimer)
            except DatabaseError as error:
                log.warning("Could not renew the connection slot of %s: %s", held.claimer, error)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.renew_all()
                except Exception:
                    log.exception("Renewing leases failed; trying again in %.1f s", self.interval)
                    close_old_connections()
        finally:
            connections.close_all()


class Bell:
    """Wakes idle connections when the worker's waiter says mail may be due."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._rung = 0

    def ring(self) -> None:
        with self._condition:
            self._rung += 1
            self._condition.notify_all()

    @property
    def rung(self) -> int:
        return self._rung

    def wait(self, seen: int, timeout: float) -> None:
        with self._condition:
            self._condition.wait_for(lambda: self._rung != seen, timeout)
