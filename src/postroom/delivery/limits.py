"""Provider limits that hold for the whole deployment, however many workers and machines send.

- :class:`SendingRate`: ``Postroom:Delivery:MessagesPerSecond`` as a token bucket in the
  database. Every connection of every worker takes its tokens from the same row, so together
  they never send faster than the provider allows (Amazon SES starts new accounts at 14/s).
- :class:`ConnectionSlots`: ``Postroom:Delivery:MaxConnections`` as numbered rows, each held
  under a lease by one connection while it is open. A worker that dies frees its slots when
  their lease runs out.
- :class:`Throttle`: a worker's own number of connections, lowered for a while when the server
  answers 421 or "too many connections", and raised again one at a time once it is quiet.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.db import connections
from django.db.models import Q
from django.utils import timezone

from postroom.delivery.models import ConnectionSlot, SendingBudget

log = logging.getLogger("postroom.delivery")

BUDGET = "messages"
SLOT_LEASE = timedelta(seconds=60)  # renewed by the worker's lease keeper every few seconds
BACKOFF = 30.0  # seconds a lowered concurrency holds before one more connection may open


class SendingRate:
    """Takes send permits from the bucket every worker shares."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._spare = 0  # permits taken from the bucket and not used yet (this connection's)

    def will_query(self) -> bool:
        """Whether the next :meth:`take` asks the database (no permit left over)."""
        return self.rate > 0 and self._spare <= 0

    def ready(self) -> bool:
        """Whether the next :meth:`take` has a permit at hand (it will neither wait nor ask)."""
        return self.rate <= 0 or self._spare > 0

    def take(self, stop: threading.Event | None = None) -> bool:
        """Wait for one permit; False only when ``stop`` was set first."""
        if self.rate <= 0:
            return True
        while self._spare <= 0:
            got, wait = take_permits(self.rate)
            self._spare += got
            if got == 0:
                if stop is not None and stop.wait(wait):
                    return False
                if stop is None:
                    time.sleep(wait)
        self._spare -= 1
        return True


def chunk(rate: int) -> int:
    """Permits taken at once: one at ordinary rates, a few at high ones, where a row update
    per message would cost more than the spacing is worth."""
    return max(1, rate // 50)


def take_permits(rate: int) -> tuple[int, float]:
    """Take ``chunk(rate)`` permits if they are due; returns (taken, seconds to wait if not).

    A "generic cell rate" bucket in one row and one statement: ``next_free`` is when the next
    permit is due, and moves on by 1/rate per permit. A connection that comes a little late
    may catch up by one chunk (so the rate is kept, not lost to wake-up delays); a longer pause
    is not saved up into a burst.
    """
    interval, count = 1.0 / rate, chunk(rate)
    slack = count * interval
    now = time.time()
    connection = connections[SendingBudget.objects.db]
    larger = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    table = connection.ops.quote_name(SendingBudget._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET next_free = {larger}(next_free, %s) + %s"  # noqa: S608
            f" WHERE name = %s AND {larger}(next_free, %s) + %s <= %s",
            [now - slack, count * interval, BUDGET, now - slack, (count - 1) * interval, now],
        )
        if cursor.rowcount:
            return count, 0.0
        cursor.execute(f"SELECT next_free FROM {table} WHERE name = %s", [BUDGET])  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        SendingBudget.objects.get_or_create(name=BUDGET, defaults={"next_free": 0.0})
        return 0, 0.0
    return 0, min(max(row[0] + (count - 1) * interval - now, 0.001), 1.0)


class ConnectionSlots:
    """At most ``limit`` connections across all workers (0: no cap, and no queries)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def acquire(self, holder: str) -> int | None:
        """A free slot's number, now held by ``holder``; None when all are taken."""
        if self.limit <= 0:
            return -1
        now = timezone.now()
        numbers = range(self.limit)
        existing = set(
            ConnectionSlot.objects.filter(number__in=numbers).values_list("number", flat=True)
        )
        if len(existing) < self.limit:
            ConnectionSlot.objects.bulk_create(
                [ConnectionSlot(number=n) for n in numbers if n not in existing],
                ignore_conflicts=True,
            )
        free = Q(held_by="") | Q(expires_at__lt=now) | Q(held_by=holder)
        for number in ConnectionSlot.objects.filter(free, number__lt=self.limit).values_list(
            "number", flat=True
        ):
            taken = ConnectionSlot.objects.filter(free, number=number).update(
                held_by=holder, expires_at=now + SLOT_LEASE
            )
            if taken:
                return number
        return None

    def renew(self, holder: str) -> None:
        if self.limit > 0:
            ConnectionSlot.objects.filter(held_by=holder).update(
                expires_at=timezone.now() + SLOT_LEASE
            )

    def release(self, holder: str) -> None:
        if self.limit > 0:
            ConnectionSlot.objects.filter(held_by=holder).update(held_by="", expires_at=None)


def says_too_many(reply: str | None, text: str = "") -> bool:
    """A 421 (the server closes the session), or any refusal that says there are too many
    connections: a sign to open fewer, not that the messages are at fault."""
    words = f"{reply or ''} {text}".lower()
    return (
        (reply or "").startswith("421")
        or "too many connections" in words
        or ("too many concurrent" in words)
    )


class Throttle:
    """How many of a worker's connections may be open now."""

    def __init__(self, connections: int, backoff: float = BACKOFF) -> None:
        self.most = connections
        self.allowed = connections
        self.backoff = backoff
        self._quiet_since = time.monotonic()
        self._lock = threading.Lock()

    def refused(self, reason: str) -> None:
        """The server said too many: halve the connections (at least one) for a while."""
        with self._lock:
            lowered = max(1, self.allowed // 2)
            if lowered < self.allowed:
                log.warning(
                    "The SMTP server refused a connection (%s): using %d connections instead"
                    " of %d for at least %.0f s",
                    reason,
                    lowered,
                    self.allowed,
                    self.backoff,
                )
            self.allowed = lowered
            self._quiet_since = time.monotonic()

    def may_use(self, index: int) -> bool:
        """Whether connection number ``index`` (from 0) may send now."""
        with self._lock:
            if self.allowed < self.most and time.monotonic() - self._quiet_since >= self.backoff:
                self.allowed += 1  # quiet for a while: one more
                self._quiet_since = time.monotonic()
            return index < self.allowed
