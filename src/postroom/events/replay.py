"""The record of recent webhook deliveries: a request seen before is a replay and refused.

Timestamps bound how old a request may be; this record covers the window inside that bound.
Rows are kept for :data:`KEEP`, longer than any age a provider's request may have (Mailgun's
8 hours of retries included), then purged by a chore.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from postroom.events.errors import bad_request
from postroom.events.models import SeenDelivery

KEEP = timedelta(days=2)


def remember(provider: str, delivery_id: str) -> None:
    """Note ``delivery_id``; raises a 400 refusal if it was seen already."""
    if not delivery_id:
        raise bad_request("The request carries no id to check for replays.")
    key = hashlib.sha256(delivery_id.encode()).hexdigest()
    try:
        with transaction.atomic():
            SeenDelivery.objects.create(provider=provider, key=key)
    except IntegrityError:
        raise bad_request("This request was received before: a replay is refused.") from None


def purge() -> int:
    deleted, _ = SeenDelivery.objects.filter(seen_at__lt=timezone.now() - KEEP).delete()
    return deleted
