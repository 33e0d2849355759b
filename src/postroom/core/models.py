"""The shared tables: rate counters and the "last done at" of chores."""

from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """Hits of one key in one window (see :mod:`postroom.core.ratelimit`).

    ``key`` holds keyed hashes only: no client address or email address is stored. Times are
    milliseconds since the epoch so that one SQL statement can compare and count on any
    database.
    """

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=200)
    count = models.PositiveIntegerField(default=0)
    window_start_ms = models.BigIntegerField()
    last_at_ms = models.BigIntegerField()
    expires_at_ms = models.BigIntegerField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="core_ratecounter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope}: {self.count}"


class Throttle(models.Model):
    """When something done now and then (an alert, a purge) was last done, shared by workers."""

    key = models.CharField(max_length=100, unique=True)
    last_at = models.DateTimeField()
    summary = models.JSONField(default=dict)

    def __str__(self) -> str:
        return self.key
