"""What an administrator can do to logged messages: resend, cancel, retry now.

Shared by the email log screens and the command line. Cancel and retry are one UPDATE each,
guarded by the status they start from, so a row the worker claimed in the meantime is left
alone; resend writes new rows with ``bulk_create``. Workers are woken after the commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from postroom.delivery.enqueue import notify_workers
from postroom.delivery.messageid import new_message_id
from postroom.delivery.models import OutboxMessage, Status

CANCELLABLE = (Status.QUEUED, Status.HELD)
BULK_CREATE_BATCH = 200

_MESSAGE_ID_LINE = re.compile(rb"message-id[ \t]*:", re.IGNORECASE)
_BLANK_LINES = (b"\r\n", b"\n", b"\r")


def cancellable(queryset: QuerySet[OutboxMessage]) -> QuerySet[OutboxMessage]:
    """Messages not yet handed to a worker: queued or held."""
    return queryset.filter(status__in=CANCELLABLE)


def retryable(
    queryset: QuerySet[OutboxMessage], now: datetime | None = None
) -> QuerySet[OutboxMessage]:
    """Failed messages, and queued ones waiting for a later retry."""
    now = now or timezone.now()
    return queryset.filter(
        Q(status=Status.FAILED) | Q(status=Status.QUEUED, next_attempt_at__gt=now)
    )


def cancel(queryset: QuerySet[OutboxMessage]) -> int:
    """Cancel the queued and held messages among ``queryset``; returns how many."""
    return cancellable(queryset).update(status=Status.CANCELLED)


def retry_now(queryset: QuerySet[OutboxMessage], now: datetime | None = None) -> int:
    """Make the failed or waiting messages among ``queryset`` due now; returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        count = retryable(queryset, now).update(
            status=Status.QUEUED,
            next_attempt_at=now,
            failed_at=None,
            lost_leases=0,  # a message that took workers down may now go through: try again
        )
        if count:
            transaction.on_commit(notify_workers)
    return count


def resend(messages: Iterable[OutboxMessage]) -> list[OutboxMessage]:
    """Queue a new copy of each message: same bytes and envelope, a fresh Message-ID.

    Messages whose body was purged have nothing to resend and are skipped.
    """
    now = timezone.now()
    copies = [_copy(message, now) for message in messages if bytes(message.raw)]
    if not copies:
        return []
    with transaction.atomic():
        created = OutboxMessage.objects.bulk_create(copies, batch_size=BULK_CREATE_BATCH)
        transaction.on_commit(notify_workers)
    return created


def _copy(message: OutboxMessage, now: datetime) -> OutboxMessage:
    message_id = new_message_id(message.sender)
    return OutboxMessage(
        kind=message.kind,
        channel=message.channel,
        status=Status.QUEUED,
        sender=message.sender,
        to=message.to,
        cc=message.cc,
        bcc=message.bcc,
        subject=message.subject,
        message_id=message_id,
        raw=replace_message_id(bytes(message.raw), message_id),
        created_at=now,
        next_attempt_at=now,
        application_id=message.application_id,
    )


def replace_message_id(raw: bytes, message_id: str) -> bytes:
    """``raw`` with its Message-ID header (folded lines included) set to ``message_id``.

    Every other byte stays as it was: the header is swapped in place, line by line, and
    added at the top when the message had none.
    """
    lines = raw.splitlines(keepends=True)
    head: list[bytes] = []
    body: list[bytes] = []
    replaced = skipping = False
    for index, line in enumerate(lines):
        if line in _BLANK_LINES:
            body = lines[index:]
            break
        if skipping and line[:1] in (b" ", b"\t"):
            continue  # the folded rest of the old Message-ID
        skipping = bool(_MESSAGE_ID_LINE.match(line))
        if not skipping:
            head.append(line)
        elif not replaced:
            head.append(_header_line(message_id, _line_end(line)))
            replaced = True
    if not replaced:
        head.insert(0, _header_line(message_id, _line_end(lines[0]) if lines else b"\r\n"))
    return b"".join(head + body)


def _header_line(message_id: str, line_end: bytes) -> bytes:
    return b"Message-ID: " + message_id.encode("ascii") + line_end


def _line_end(line: bytes) -> bytes:
    return line[len(line.rstrip(b"\r\n")) :] or b"\r\n"
