"""Many SMTP connections per worker, and leases that cannot be lost unnoticed.

A worker sends over up to ``Postroom:Delivery:Connections`` connections at once (default 20),
one thread each with its own blocking SMTP session (postroom.smtp, pipelined as before). Over
the internet a message costs two round trips on one connection whatever the machine does, so
the rate grows with the connections: at 50 ms from the provider one connection carries at most
10 messages a second, twenty carry 200. Twenty because that is what Postfix opens to one
destination by default (``default_destination_concurrency_limit``) and what the large providers
take from one client (Microsoft 365 and Gmail throttle somewhere past 10-20 concurrent sessions;
a 421 halves the count, see limits.Throttle); ``MaxConnections`` caps all workers together.

Connections open as they pay (:class:`Ramp`): a worker starts with one (opened as it starts,
so that its greeting already tells how far the server is) and opens more only while mail
waits unclaimed and its messages wait on the server, not on this machine (neither its
processor time nor its wait for a processor counts, and every recent message must have waited:
on a loaded machine some messages wait milliseconds for the server's process, the next not).
The connections look for mail one at a time: woken together, they would all try to claim the
one new message, each try taking SQLite's write lock from the connections recording outcomes
(enqueue to acceptance, 50 ms away: p99 0.32 s before, 0.20-0.24 s after).
On loopback one connection is as fast as the processor allows: ten sent a quarter as much,
each message now contending for the GIL, the processor and SQLite's write lock (151 against 800
a second for a raw smtplib loop). A provider 50 ms away gets every connection within its
first messages.

Threads, not an event loop: each connection spends its time waiting on the network, which
releases the GIL, and the session code stays the one SMTP client.

Measured in one run each (bench/delivery.py, 2,000 messages, a 2-CPU machine at load 3-8):
over a 50 ms link twenty connections sent 144 messages a second on SQLite and PostgreSQL, 30x
a raw smtplib loop (ten: 84-86, 18x); on loopback the ramp sent 400 (SQLite) and 603
(PostgreSQL) a second where ten connections from the start sent 276 and 349.

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
import os
import threading
import time
from collections import deque
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


_schedstat = threading.local()


def runnable_seconds() -> float:
    """How long this thread has waited, ready to run, for a processor (Linux schedstat); 0.0
    where the kernel does not say.

    On a busy machine a connection's thread often waits milliseconds for a processor after
    the server answered: that is this machine's load, not the network, and one more
    connection would only add to it. The file stays open per thread (``thread-self`` is the
    thread that opened it); each read is one pread.
    """
    fd = getattr(_schedstat, "fd", None)
    if fd == -1:
        return 0.0
    try:
        if fd is None:
            fd = _schedstat.fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        return int(os.pread(fd, 100, 0).split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        forget_runnable_seconds()
        _schedstat.fd = -1  # not Linux, or no schedstat: never asked again in this thread
        return 0.0


def forget_runnable_seconds() -> None:
    """Close this thread's schedstat file (a connection's thread calls it when it ends)."""
    fd, _schedstat.fd = getattr(_schedstat, "fd", None), None
    if fd is not None and fd >= 0:
        os.close(fd)


# A message whose connection waited at least this long on the server, and at least
# WAIT_TO_CPU times the processor time the worker spent on it, is waiting on the network: one
# more connection would send another message in that time. Below it (loopback, a relay on the
# same machine) more connections only contend for the processor and the database's lock.
NETWORK_WAIT_FLOOR = 0.005
WAIT_TO_CPU = 2.0
SAMPLE_WEIGHT = 0.3  # of the newest message in the running average of processor time
# The wait that counts is the least of the last few messages': the network's delay is a floor
# every message pays, while a loaded machine (the server starved of a processor, another
# thread holding the GIL) delays some messages by milliseconds and the next not at all.
WAIT_WINDOW = 4
RAMP_DOWN_SECONDS = 10.0  # as long as an idle connection stays open (worker.IDLE_CLOSE_SECONDS)
WAIT_SAMPLES = 2  # messages that must all have waited before a connection is added


class Ramp:
    """How many of a worker's connections are wanted now: one to start with, and once the
    recent messages show that sending waits on the network, one more for each message that
    waits unclaimed (at most twice as many at a time).

    On loopback one connection is as fast as the machine allows, and ten only contend for
    the processor and the database; a provider 50 ms away gets all of them within its first
    few messages. The count drops back to one once nothing is due.
    """

    def __init__(self, most: int, bell: Bell | None = None) -> None:
        self.most = max(1, most)
        self._bell = bell  # rung when more connections are wanted: they start at once
        self.active = 1
        self.peak = 1  # the most connections wanted at once (the benchmark reports it)
        self.finished = False  # a burst's first connection found nothing more to do
        self._wait = 0.0  # the least wait of the recent messages
        self._waits: deque[float] = deque(maxlen=WAIT_WINDOW)
        self._cpu = 0.0
        self._samples = 0
        self._last_sent = 0.0  # time.monotonic() of the last message sent
        self._lock = threading.Lock()

    def wanted(self, index: int) -> bool:
        return index < self.active

    def senders(self) -> int:
        """How many connections a claim shares what is due with: all of them while they may
        still open (so each gets a share), only the open ones once sending is known to be
        local (so a lone connection takes full batches, not ever smaller ones)."""
        with self._lock:
            local = self._samples > 0 and not self._waited_long()
            return self.active if local else self.most

    def _waited_long(self) -> bool:
        return self._wait >= max(NETWORK_WAIT_FLOOR, WAIT_TO_CPU * self._cpu)

    def _networked(self) -> bool:
        """One quick message shows the server is near; only several slow ones (a connection's
        opening counts as one) that it is far."""
        return len(self._waits) >= WAIT_SAMPLES and self._waited_long()

    def sent(self, waited: float, cpu: float, due: int) -> bool:
        """One message went out after ``waited`` seconds on the server and ``cpu`` seconds of
        this process's work; ``due`` messages were left unclaimed when its connection last
        looked. True when connections were added for them: the caller reports them once."""
        with self._lock:
            self._last_sent = time.monotonic()
            weight = SAMPLE_WEIGHT if self._samples else 1.0
            self._samples += 1
            self._waits.append(waited)
            self._wait = min(self._waits)
            self._cpu += weight * (cpu - self._cpu)
            grow = self._grow(due)
        if grow and self._bell is not None:
            self._bell.ring()
        return grow

    def connected(self, waited: float) -> None:
        """A new connection's greeting and EHLO waited ``waited`` seconds on the server: round
        trips like a message's, known before its first message is sent."""
        with self._lock:
            self._waits.append(waited)
            self._wait = min(self._waits)

    @property
    def far(self) -> bool:
        """Whether sending is known to wait on the network while more connections may open."""
        with self._lock:
            return self._networked() and self.active < self.most

    def claimed(self, due: int) -> None:
        """A connection claimed its batch and ``due`` messages are left unclaimed (the other
        connections' batches are not among them): once sending is known
        to wait on the network, the next connections open now, not after this batch."""
        with self._lock:
            grow = self._grow(due)
        if grow and self._bell is not None:
            self._bell.ring()

    def _grow(self, due: int) -> bool:
        """``due`` messages wait that no connection has claimed: each of them would wait a
        whole message's round trips, so a connection opens for each, doubling at most."""
        if not (self._networked() and self.active < self.most and due > 0):
            return False
        # Doubling: a far provider gets its connections within a few messages, and mail that
        # comes faster than the open connections carry it gets more before it piles up.
        self.active = min(self.most, self.active + min(due, self.active))
        self.peak = max(self.peak, self.active)
        log.debug(
            "Sending waits %.0f ms a message on the server: %d connections",
            self._wait * 1000,
            self.active,
        )
        return True

    def idle(self, now: float | None = None) -> None:
        """Nothing is due: back to one connection (the others close) once nothing was sent for
        RAMP_DOWN_SECONDS. Mail that trickles in (a form every few seconds) finds the
        connections still open: opening one costs two or three round trips more."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if now - self._last_sent >= RAMP_DOWN_SECONDS:
                self.active = 1
