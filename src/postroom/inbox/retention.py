"""The inbox keeps its newest messages only: ``Postroom:Inbox:KeepMessages`` of them, and
(when ``Postroom:Inbox:KeepDays`` is set) none older than that. Run as a chore."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from postroom.config import current_config
from postroom.core import throttle
from postroom.inbox import fulltext, totals
from postroom.inbox.models import CaughtMessage

EVERY = timedelta(minutes=1)
BATCH = 2_000  # rows per DELETE: short statements, so the catcher never waits long


def prune(keep_messages: int, keep_days: int = 0) -> int:
    """Delete all but the newest ``keep_messages`` and, with ``keep_days``, any older ones.

    Both use an index (the id, the time received), so this costs little at 50,000 rows.
    """
    deleted = 0
    newest = CaughtMessage.objects.order_by("-id").values_list("id", flat=True)
    # The totals say whether there is anything to do; only then is the cut-off looked for.
    over = totals.read().messages > keep_messages
    cutoff = newest[keep_messages : keep_messages + 1].first() if over else None
    if cutoff is not None:
        deleted += _delete_batches(CaughtMessage.objects.filter(id__lte=cutoff))
    if keep_days:
        since = timezone.now() - timedelta(days=keep_days)
        deleted += _delete_batches(CaughtMessage.objects.filter(received_at__lt=since))
    return deleted


def _delete_batches(doomed) -> int:  # noqa: ANN001 - a queryset of CaughtMessage
    deleted = 0
    while True:
        ids = list(doomed.order_by("id").values_list("id", flat=True)[:BATCH])
        if not ids:
            return deleted
        count, _ = CaughtMessage.objects.filter(id__in=ids).delete()
        deleted += count


def prune_as_configured() -> None:
    """The chore: once a minute across all processes, with the configured limits; then the
    search's statistics are refreshed if the messages changed much (PostgreSQL only)."""
    if throttle.take_turn("inbox-retention", EVERY):
        inbox = current_config().inbox
        prune(inbox.keep_messages.value, inbox.keep_days.value)
        fulltext.analyze_if_stale(connection)
