"""The outbox as a queue: claiming due messages under a lease, holding and releasing them.

Claims are safe with any number of workers: on PostgreSQL the candidate rows are locked with
``SELECT ... FOR UPDATE SKIP LOCKED``, so workers never wait on or take each other's rows;
on SQLite the claim runs in an IMMEDIATE transaction, which takes SQLite's single write lock
first, so claims simply happen one after another.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from postroom.delivery.models import OutboxMessage, Status

# A message whose lease ran out this many times took its worker down each time (or the
# machine): it is failed so that the rest of the queue keeps moving.
MAX_LOST_LEASES = 3


def claim(
    worker_id: str,
    limit: int,
    lease: timedelta,
    channels: Iterable[str] | None = None,
    only: int | None = None,
) -> list[OutboxMessage]:
    """Take up to ``limit`` due messages: queued ones, and sending ones whose lease ran out."""
    now = timezone.now()
    due = Q(status=Status.QUEUED, next_attempt_at__lte=now) | Q(
        status=Status.SENDING, lease_expires_at__lt=now
    )
    candidates = OutboxMessage.objects.filter(due)
    if channels is not None:
        candidates = candidates.filter(channel__in=list(channels))
    if only is not None:
        candidates = candidates.filter(pk=only)
    with transaction.atomic():
        ids = list(
            candidates.select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        chosen = OutboxMessage.objects.filter(pk__in=ids)
        chosen.filter(status=Status.SENDING).update(lost_leases=F("lost_leases") + 1)
        chosen.filter(lost_leases__gte=MAX_LOST_LEASES).update(
            status=Status.FAILED,
            failed_at=now,
            claimed_by="",
            lease_expires_at=None,
            last_reply=(
                f"Set aside: a worker stopped {MAX_LOST_LEASES} times while sending it. "
                "Retry it from the email log once the cause is fixed."
            ),
        )
        chosen.filter(lost_leases__lt=MAX_LOST_LEASES).update(
            status=Status.SENDING,
            claimed_by=worker_id,
            lease_expires_at=now + lease,
            attempt_count=F("attempt_count") + 1,
        )
    return list(
        OutboxMessage.objects.filter(
            pk__in=ids, claimed_by=worker_id, status=Status.SENDING
        ).order_by("next_attempt_at", "id")
    )


def renew_lease(worker_id: str, ids: list[int], lease: timedelta) -> None:
    OutboxMessage.objects.filter(pk__in=ids, claimed_by=worker_id, status=Status.SENDING).update(
        lease_expires_at=timezone.now() + lease
    )


def release(worker_id: str, ids: list[int]) -> None:
    """Give back messages claimed but not tried (the worker is stopping)."""
    OutboxMessage.objects.filter(pk__in=ids, claimed_by=worker_id, status=Status.SENDING).update(
        status=Status.QUEUED,
        claimed_by="",
        lease_expires_at=None,
        attempt_count=F("attempt_count") - 1,
    )


def hold_or_release(channel: str, has_route: bool) -> None:
    """Without a transport, queued mail is held; once there is one, held mail is queued again."""
    of_channel = OutboxMessage.objects.filter(channel=channel)
    if has_route:
        of_channel.filter(status=Status.HELD).update(
            status=Status.QUEUED, next_attempt_at=timezone.now()
        )
    else:
        of_channel.filter(status=Status.QUEUED).update(status=Status.HELD)
