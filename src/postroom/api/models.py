"""What the API remembers of a message it queued: its tag, metadata and idempotency key."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone

IDEMPOTENCY_WINDOW = timedelta(hours=24)


class ApiMessage(models.Model):
    outbox = models.OneToOneField(
        "delivery.OutboxMessage", on_delete=models.CASCADE, related_name="api_message"
    )
    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="api_messages"
    )
    tag = models.CharField(max_length=100, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    body_digest = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="api_one_message_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"API message {self.outbox_id}"


def forget_old_idempotency_keys(now=None) -> int:  # noqa: ANN001
    """Free keys older than the window: the messages stay, their keys may be used again."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_WINDOW
    return (
        ApiMessage.objects.filter(created_at__lt=cutoff)
        .exclude(idempotency_key="")
        .update(idempotency_key="")
    )
