"""Keeping the email log small: bodies of sent mail go after N days, the rest after longer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from postroom.delivery.models import OutboxMessage, Status
from postroom.delivery.policy import DeliveryPolicy

FINISHED = (Status.SENT, Status.FAILED, Status.CANCELLED, Status.SUPPRESSED)


@dataclass(frozen=True)
class Purged:
    bodies: int
    messages: int


def purge(policy: DeliveryPolicy, now: datetime | None = None) -> Purged:
    """Empty the bodies of sent messages older than the policy says; delete older rows."""
    now = now or timezone.now()
    _, per_model = OutboxMessage.objects.filter(
        status__in=FINISHED, created_at__lt=now - policy.keep_log
    ).delete()
    bodies = (
        OutboxMessage.objects.filter(status=Status.SENT, sent_at__lt=now - policy.keep_sent_bodies)
        .exclude(raw=b"")
        .update(raw=b"")
    )
    return Purged(bodies=bodies, messages=per_model.get(OutboxMessage._meta.label, 0))
