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
import math
import threading
import time
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from postroom.delivery.models import ConnectionSlot, SendingBudget

log = logging.getLogger("postroom.delivery")

BUDGET = "messages"
SLOT_LEASE = timedelta(seconds=60)  # renewed by the worker's lease keeper every few seconds
BACKOFF = 30.0  # seconds a lowered concurrency holds before one more connection may open


class SendingRate:
    """Takes send permits from the shared bucket, which holds a twentieth of a second's worth
    (at least one): sends are spaced out evenly rather than bunched at each second's start."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._spare = 0  # permits taken from the bucket and not used yet (this connection's)

    def take(self, stop: threading.Event | None = None) -> bool:
        """Wait for one permit; False only when ``stop`` was set first."""
        if self.rate <= 0:
            return True
        while self._spare <= 0:
            # A few at a time when the rate is high (one row update per message costs more
            # than it saves), one at a time when it is low, so connections share it fairly.
            got, wait = take_tokens(self.rate, burst(self.rate))
            self._spare += got
            if got == 0:
                if stop is not None and stop.wait(wait):
                    return False
                if stop is None:
                    time.sleep(wait)
        self._spare -= 1
        return True


def burst(rate: int) -> int:
    return max(1, rate // 20)


def take_tokens(rate: int, wanted: int) -> tuple[int, float]:
    """Take up to ``wanted`` tokens; returns (taken, seconds until the next one)."""
    now = timezone.now()
    with transaction.atomic():
        bucket = SendingBudget.objects.select_for_update().filter(name=BUDGET).first()
        if bucket is None:
            SendingBudget.objects.get_or_create(
                name=BUDGET, defaults={"tokens": float(burst(rate)), "refilled_at": now}
            )
            bucket = SendingBudget.objects.select_for_update().get(name=BUDGET)
        elapsed = max((now - bucket.refilled_at).total_seconds(), 0.0)
        tokens = min(float(burst(rate)), bucket.tokens + elapsed * rate)
        taken = min(wanted, math.floor(tokens))
        bucket.tokens, bucket.refilled_at = tokens - taken, max(now, bucket.refilled_at)
        bucket.save(update_fields=["tokens", "refilled_at"])
    return taken, (1.0 - (tokens - taken)) / rate if taken == 0 else 0.0


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
