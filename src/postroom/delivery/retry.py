"""When to try a message again: exponential backoff with jitter, up to a maximum age."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

FIRST_DELAY = timedelta(seconds=30)
LONGEST_DELAY = timedelta(hours=1)


def next_attempt_at(
    now: datetime, attempt_count: int, rng: random.Random | None = None
) -> datetime:
    """After ``attempt_count`` failed tries: 30 s, 1 min, 2 min, ... capped at an hour, ±20%."""
    exponent = min(max(attempt_count - 1, 0), 20)
    delay = min(FIRST_DELAY * (2**exponent), LONGEST_DELAY)
    jitter = (rng or random).uniform(0.8, 1.2)
    return now + delay * jitter


def should_give_up(
    created_at: datetime, now: datetime, kind: str, give_up_after: timedelta
) -> bool:
    """Test messages are tried once: their point is to show what the server says now."""
    return kind == "test" or now - created_at >= give_up_after


def is_transient(reply: str) -> bool:
    """A 4xx reply (or no reply code at all, e.g. a dropped connection) may work later."""
    return reply[:1] != "5"
