"""Per-hour limits (password reset requests), counted in the database.

The database, not Django's cache: the default cache is per process, and Postroom may run
several web processes. Rows older than a day are removed by housekeeping.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from postroom.accounts.models import RateAttempt
from postroom.accounts.tokens import digest

WINDOW = timedelta(hours=1)
KEEP = timedelta(days=1)


def take(scope: str, value: str, limit: int, window: timedelta = WINDOW) -> bool:
    """Count one request for ``value`` and return True, or False when over ``limit``."""
    now = timezone.now()
    key = digest(value)
    recent = RateAttempt.objects.filter(scope=scope, key=key, created_at__gte=now - window)
    if recent.count() >= limit:
        return False
    RateAttempt.objects.create(scope=scope, key=key, created_at=now)
    return True


def forget_old(now: datetime | None = None) -> int:
    now = now or timezone.now()
    deleted, _ = RateAttempt.objects.filter(created_at__lt=now - KEEP).delete()
    return deleted
