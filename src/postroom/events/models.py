"""A record of the webhook deliveries seen lately, so that a replayed request is refused."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class SeenDelivery(models.Model):
    provider = models.CharField(max_length=20)
    key = models.CharField(max_length=64, help_text="SHA-256 of the delivery's own id.")
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "key"], name="seen_delivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.key[:12]}"
