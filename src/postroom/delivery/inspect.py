"""The queue as numbers and rows, for `postroom outbox list|stats` and for /metrics.

Everything is read from the database, so the answer is the same whichever process asks: the
workers are separate processes, often on other machines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from postroom.delivery.models import DeliveryAttempt, OutboxMessage, Status, WorkerHeartbeat

WAITING = (Status.QUEUED, Status.SENDING)
LIST_LIMIT = 50
MAX_LIST_LIMIT = 10_000


def status_counts() -> dict[str, int]:
    """How many messages have each status; every status is listed, 0 included."""
    found = dict(
        OutboxMessage.objects.order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {status: found.get(status, 0) for status in Status.values}


@dataclass(frozen=True)
class QueueStats:
    counts: dict[str, int]
    oldest_queued_id: int | None
    oldest_queued_at: datetime | None
    sent_last_minute: int
    sent_last_hour: int
    failed_last_minute: int
    failed_last_hour: int
    now: datetime

    @property
    def oldest_queued_age_seconds(self) -> float | None:
        if self.oldest_queued_at is None:
            return None
        return max(0.0, (self.now - self.oldest_queued_at).total_seconds())

    def as_json(self) -> dict[str, Any]:
        oldest = None
        if self.oldest_queued_at is not None:
            oldest = {
                "id": self.oldest_queued_id,
                "created_at": self.oldest_queued_at.isoformat(),
                "age_seconds": round(self.oldest_queued_age_seconds or 0.0, 1),
            }
        return {
            "counts": self.counts,
            "oldest_queued": oldest,
            "sent": {"last_minute": self.sent_last_minute, "last_hour": self.sent_last_hour},
            "failed": {
                "last_minute": self.failed_last_minute,
                "last_hour": self.failed_last_hour,
            },
            "rate_per_second": {
                "last_minute": round(self.sent_last_minute / 60, 3),
                "last_hour": round(self.sent_last_hour / 3600, 3),
            },
            "at": self.now.isoformat(),
        }


def queue_stats(now: datetime | None = None) -> QueueStats:
    """Counts by status, the oldest message still waiting, and what went out lately."""
    now = now or timezone.now()
    minute, hour = now - timedelta(minutes=1), now - timedelta(hours=1)
    oldest = (
        OutboxMessage.objects.filter(status__in=WAITING)
        .order_by("created_at", "id")
        .values_list("id", "created_at")
        .first()
    )
    recent = OutboxMessage.objects.order_by().aggregate(
        sent_minute=Count("id", filter=Q(status=Status.SENT, sent_at__gte=minute)),
        sent_hour=Count("id", filter=Q(status=Status.SENT, sent_at__gte=hour)),
        failed_minute=Count("id", filter=Q(status=Status.FAILED, failed_at__gte=minute)),
        failed_hour=Count("id", filter=Q(status=Status.FAILED, failed_at__gte=hour)),
    )
    return QueueStats(
        counts=status_counts(),
        oldest_queued_id=oldest[0] if oldest else None,
        oldest_queued_at=oldest[1] if oldest else None,
        sent_last_minute=recent["sent_minute"],
        sent_last_hour=recent["sent_hour"],
        failed_last_minute=recent["failed_minute"],
        failed_last_hour=recent["failed_hour"],
        now=now,
    )


def list_messages(
    status: str | None = None, kind: str | None = None, limit: int = LIST_LIMIT
) -> list[dict[str, Any]]:
    """The newest messages (optionally of one status and kind), as plain values; the
    connection is the one of each message's last attempt."""
    rows = OutboxMessage.objects.all()
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    last_connection = (
        DeliveryAttempt.objects.filter(message=OuterRef("pk"))
        .order_by("-started_at", "-id")
        .values("connection")[:1]
    )
    rows = rows.annotate(connection=Subquery(last_connection)).values(
        "id",
        "created_at",
        "status",
        "kind",
        "channel",
        "to",
        "subject",
        "attempt_count",
        "next_attempt_at",
        "sent_at",
        "failed_at",
        "last_reply",
        "connection",
    )
    return [_plain(row) for row in rows[: max(1, min(limit, MAX_LIST_LIMIT))]]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    plain = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
    plain["connection"] = plain["connection"] or None
    if row["status"] != Status.QUEUED:
        plain["next_attempt_at"] = None
    return plain


def attempt_counts() -> list[tuple[str, str, str, int]]:
    """(kind, connection, outcome, count) over every recorded attempt."""
    return list(
        DeliveryAttempt.objects.exclude(outcome="")
        .order_by()
        .values_list("message__kind", "connection", "outcome")
        .annotate(n=Count("id"))
        .values_list("message__kind", "connection", "outcome", "n")
    )


def heartbeats() -> list[tuple[str, str, datetime, int, int]]:
    """(worker id, host name, last seen, delivered, failed) for each worker that reported."""
    return list(
        WorkerHeartbeat.objects.order_by("worker_id").values_list(
            "worker_id", "hostname", "last_seen_at", "delivered", "failed"
        )
    )
