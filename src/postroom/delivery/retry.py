"""When to try a message again: exponential backoff with jitter, up to a maximum age.

The schedule is set by ``Postroom:Delivery:RetryFirstDelaySeconds`` (30),
``RetryBackoffFactor`` (2) and ``RetryMaxDelayMinutes`` (60): 30 s, 1 min, 2 min, ... an hour.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

FIRST_DELAY = timedelta(seconds=30)
FACTOR = 2.0
LONGEST_DELAY = timedelta(hours=1)


@dataclass(frozen=True)
class RetrySchedule:
    first_delay: timedelta = FIRST_DELAY
    factor: float = FACTOR
    longest_delay: timedelta = LONGEST_DELAY

    def delay(self, attempt_count: int) -> timedelta:
        """The delay after ``attempt_count`` failed tries, before jitter."""
        exponent = min(max(attempt_count - 1, 0), 64)
        seconds = self.first_delay.total_seconds() * self.factor**exponent
        return min(timedelta(seconds=min(seconds, 10**9)), self.longest_delay)


def next_attempt_at(
    now: datetime,
    attempt_count: int,
    rng: random.Random | None = None,
    schedule: RetrySchedule | None = None,
) -> datetime:
    """After ``attempt_count`` failed tries: the schedule's delay (the worker passes the
    configured one; the default is 30 s, 1 min, 2 min, ... capped at an hour), ±20%."""
    schedule = schedule or RetrySchedule()
    jitter = (rng or random).uniform(0.8, 1.2)
    return now + schedule.delay(attempt_count) * jitter


def should_give_up(
    created_at: datetime, now: datetime, kind: str, give_up_after: timedelta
) -> bool:
    """Test messages are tried once: their point is to show what the server says now."""
    return kind == "test" or now - created_at >= give_up_after


def is_transient(reply: str) -> bool:
    """A 4xx reply (or no reply code at all, e.g. a dropped connection) may work later."""
    return reply[:1] != "5"
