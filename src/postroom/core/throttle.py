"""At most once per period, across every process on every machine."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from postroom.core.models import Throttle


def last_time(key: str) -> datetime | None:
    row = Throttle.objects.filter(key=key).first()
    return row.last_at if row else None


def take_turn(key: str, every: timedelta, summary: dict | None = None) -> bool:
    """True for exactly one caller per ``every``: a compare-and-set on the row's time."""
    now = timezone.now()
    Throttle.objects.get_or_create(key=key, defaults={"last_at": now - every * 2})
    taken = Throttle.objects.filter(key=key, last_at__lte=now - every).update(
        last_at=now, summary=summary or {}
    )
    return taken == 1
