"""The one rate limiter: how often a key was hit in a window, counted atomically.

Every limit in Postroom (password reset requests, form entries per address, failed logins)
counts here. One statement inserts the counter or adds one to it and returns the new count
(``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, on SQLite and PostgreSQL alike), so
concurrent requests in any number of processes never count the same hit twice or miss one.

A window starts at the first hit of a key and lasts ``window``; the first hit after it starts
a new one. Keys are given as parts (``("reset", email)``, ``(email, address)``) and stored
only as keyed hashes (HMAC with the secret key), so the table holds no address in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F

from postroom.core.models import RateCounter

Key = str | Sequence[str]
PART_SEPARATOR = "."


# Identifiers in double quotes: standard SQL, the same on SQLite and PostgreSQL. Every SET
# expression reads the row as it was, so the "window is over" test means the same in each.
_HIT_SQL = """
INSERT INTO "core_ratecounter"
    ("scope", "key", "count", "window_start_ms", "last_at_ms", "expires_at_ms")
VALUES (%s, %s, 1, %s, %s, %s)
ON CONFLICT ("scope", "key") DO UPDATE SET
    "count" = CASE WHEN "core_ratecounter"."expires_at_ms" <= excluded."last_at_ms"
        THEN 1 ELSE "core_ratecounter"."count" + 1 END,
    "window_start_ms" = CASE WHEN "core_ratecounter"."expires_at_ms" <= excluded."last_at_ms"
        THEN excluded."window_start_ms" ELSE "core_ratecounter"."window_start_ms" END,
    "expires_at_ms" = CASE WHEN "core_ratecounter"."expires_at_ms" <= excluded."last_at_ms"
        THEN excluded."expires_at_ms" ELSE "core_ratecounter"."expires_at_ms" END,
    "last_at_ms" = excluded."last_at_ms"
RETURNING "count", "window_start_ms", "last_at_ms", "expires_at_ms"
"""


@dataclass(frozen=True)
class Count:
    """A key's hits in its current window."""

    count: int
    window_start: datetime
    last_at: datetime
    expires_at: datetime

    def over(self, limit: int) -> bool:
        return self.count > limit

    def seconds_left(self, now: datetime | None = None) -> int:
        """Until the window ends (at least 1)."""
        now = now or datetime.now(UTC)
        return max(1, int((self.expires_at - now).total_seconds() + 0.999))


def hashed(key: Key) -> str:
    """The stored form of a key: one keyed hash per part, joined with dots."""
    parts = [key] if isinstance(key, str) else list(key)
    secret = settings.SECRET_KEY.encode()
    return PART_SEPARATOR.join(
        hmac.new(secret, part.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:32]
        for part in parts
    )


def _ms(moment: datetime | None) -> int:
    return int((moment.timestamp() if moment else time.time()) * 1000)


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _count(row: Sequence[int]) -> Count:
    count, start, last, expires = row
    return Count(int(count), _time(start), _time(last), _time(expires))


def hit(scope: str, key: Key, window: timedelta, now: datetime | None = None) -> Count:
    """Count one hit of ``key`` and return its count in the current window (this hit included)."""
    at = _ms(now)
    expires = at + int(window.total_seconds() * 1000)
    with connection.cursor() as cursor:  # one statement: atomic by itself
        cursor.execute(_HIT_SQL, [scope, hashed(key), at, at, expires])
        return _count(cursor.fetchone())


def allow(scope: str, key: Key, limit: int, window: timedelta, now: datetime | None = None) -> bool:
    """Count one hit; True while the window's count is within ``limit``."""
    return not hit(scope, key, window, now).over(limit)


def peek(scope: str, key: Key, now: datetime | None = None) -> Count | None:
    """The key's current count without adding to it; None when it has none in force."""
    row = (
        RateCounter.objects.filter(scope=scope, key=hashed(key), expires_at_ms__gt=_ms(now))
        .values_list("count", "window_start_ms", "last_at_ms", "expires_at_ms")
        .first()
    )
    return _count(row) if row else None


def counts_under(scope: str, first_part: str, now: datetime | None = None) -> list[Count]:
    """Every key in force whose first part is ``first_part`` (e.g. one account, any address)."""
    prefix = hashed(first_part) + PART_SEPARATOR
    rows = RateCounter.objects.filter(
        scope=scope, key__startswith=prefix, expires_at_ms__gt=_ms(now)
    ).values_list("count", "window_start_ms", "last_at_ms", "expires_at_ms")
    return [_count(row) for row in rows]


def take_back(scope: str, key: Key) -> None:
    """Undo one hit of ``key`` (never below zero), e.g. an attempt that turned out fine."""
    RateCounter.objects.filter(scope=scope, key=hashed(key), count__gt=0).update(
        count=F("count") - 1
    )


def clear(scope: str, key: Key) -> int:
    """Forget a key's hits; a one-part key also forgets every longer key it begins."""
    stored = hashed(key)
    rows = RateCounter.objects.filter(scope=scope)
    exact = rows.filter(key=stored)
    if isinstance(key, str):
        exact = exact | rows.filter(key__startswith=stored + PART_SEPARATOR)
    deleted, _ = exact.delete()
    return deleted


def forget_expired(now: datetime | None = None) -> int:
    """Chore: drop counters whose window is over."""
    deleted, _ = RateCounter.objects.filter(expires_at_ms__lte=_ms(now)).delete()
    return deleted
