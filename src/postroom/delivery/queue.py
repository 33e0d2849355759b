"""The outbox as a queue: claiming due messages under a lease, holding and releasing them.

Claims are safe with any number of workers: a claim is one ``UPDATE ... RETURNING``. On
PostgreSQL its candidate rows are locked with ``FOR UPDATE SKIP LOCKED``, so workers never
wait on or take each other's rows; on SQLite the statement holds the single write lock from
its first read, so claims simply happen one after another.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connections, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from postroom.delivery import rows
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
    """Take up to ``limit`` due messages, in the order the worker must send them."""
    now = timezone.now()
    recover_lost(now)
    candidates = OutboxMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now)
    if channels is not None:
        candidates = candidates.filter(channel__in=list(channels))
    if only is not None:
        candidates = candidates.filter(pk=only)
    candidates = candidates.order_by("next_attempt_at", "id")
    claimed = _claim_in_one_statement(candidates, worker_id, limit, now + lease)
    return sorted(claimed, key=lambda message: (message.next_attempt_at, message.pk))


def _claim_in_one_statement(
    candidates: QuerySet[OutboxMessage], worker_id: str, limit: int, lease_expires_at: datetime
) -> list[OutboxMessage]:
    """Mark and return the rows in one statement. On PostgreSQL the candidates are locked and
    other workers skip them; on SQLite the statement holds the one write lock throughout."""
    connection = connections[candidates.db]
    subquery, subquery_params = candidates.values("pk")[:limit].query.sql_with_params()
    if connection.vendor == "postgresql":
        # Django compiles select_for_update() only inside atomic(): the clause is added here.
        subquery += " FOR UPDATE SKIP LOCKED"
    table = OutboxMessage._meta.db_table
    sql = (
        f"UPDATE {table} SET status = %s, claimed_by = %s, lease_expires_at = %s,"  # noqa: S608
        f" attempt_count = attempt_count + 1"
        f" WHERE id IN ({subquery}) RETURNING {rows.COLUMNS}"
    )
    lease = connection.ops.adapt_datetimefield_value(lease_expires_at)  # as the ORM writes it
    params = (Status.SENDING, worker_id, lease, *subquery_params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return rows.as_messages(cursor.fetchall(), connection)


def recover_lost(now: datetime) -> int:
    """Put the messages of workers whose lease ran out back in the queue.

    A worker sends its batch in claim order and records each outcome as it goes, so of a
    dead worker's messages still marked sending, the first was the one in flight: only that
    one counts a lost lease (and is set aside after MAX_LOST_LEASES); the rest were never
    tried and simply go back to the queue.
    """
    expired = OutboxMessage.objects.filter(status=Status.SENDING, lease_expires_at__lt=now)
    if not expired.exists():  # the usual case, in one round trip
        return 0
    with transaction.atomic():
        rows = list(
            expired.select_for_update(skip_locked=True)
            .order_by("claimed_by", "next_attempt_at", "id")
            .values_list("pk", "claimed_by")
        )
        if not rows:
            return 0
        in_flight: dict[str, int] = {}
        for pk, worker_id in rows:
            in_flight.setdefault(worker_id, pk)
        untried = [pk for pk, _ in rows if pk not in in_flight.values()]
        OutboxMessage.objects.filter(pk__in=untried).update(attempt_count=F("attempt_count") - 1)
        OutboxMessage.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            status=Status.QUEUED, claimed_by="", lease_expires_at=None
        )
        suspects = OutboxMessage.objects.filter(pk__in=list(in_flight.values()))
        suspects.update(lost_leases=F("lost_leases") + 1)
        suspects.filter(lost_leases__gte=MAX_LOST_LEASES).update(
            status=Status.FAILED,
            failed_at=now,
            last_reply=(
                f"Set aside: a worker stopped {MAX_LOST_LEASES} times while sending it. "
                "Retry it from the email log once the cause is fixed."
            ),
        )
    return len(rows)


def renew_lease(worker_id: str, ids: list[int], lease: timedelta) -> int:
    """Extend the lease on ``ids``; returns how many this worker still held (all, or it lost
    some: their lease ran out and they may be another worker's now)."""
    return OutboxMessage.objects.filter(
        pk__in=ids, claimed_by=worker_id, status=Status.SENDING
    ).update(lease_expires_at=timezone.now() + lease)


def due_count(channel: str, cap: int) -> int:
    """How many messages of ``channel`` are due now, counting no further than ``cap`` (after
    putting back those whose lease ran out, as a claim does)."""
    recover_lost(timezone.now())
    due = OutboxMessage.objects.filter(
        status=Status.QUEUED, next_attempt_at__lte=timezone.now(), channel=channel
    )
    return due.values("pk")[:cap].count()  # counted in the database, rows never fetched


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
