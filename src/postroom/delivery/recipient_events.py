"""Recording what providers report about each recipient after the 250, and reading it back.

An event finds its message by what the provider echoed (our tracking id), then by the
provider's own id from the 250 reply, then by Message-ID. An event that finds none is kept
as unmatched (``message`` is empty) for a while, so that it can be looked at.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from postroom.delivery import suppression
from postroom.delivery.models import (
    BounceType,
    EventKind,
    OutboxMessage,
    RecipientEvent,
    SuppressionReason,
)

log = logging.getLogger("postroom.delivery")

DETAIL_LIMIT = 2000


@dataclass(frozen=True)
class ProviderEvent:
    """One event for one recipient, in Postroom's words, whatever the provider."""

    provider: str
    kind: str  # an EventKind
    recipient: str
    occurred_at: datetime
    provider_event_id: str = ""
    detail: str = ""
    bounce_type: str = ""  # a BounceType for bounces
    tracking_id: str = ""
    provider_message_id: str = ""
    message_id: str = ""


def without_nul(event: ProviderEvent) -> ProviderEvent:
    """PostgreSQL's text can hold no NUL, not even in a query: a provider's text loses them."""
    changed = {
        f.name: value.replace("\x00", "")
        for f in fields(event)
        if isinstance(value := getattr(event, f.name), str) and "\x00" in value
    }
    return replace(event, **changed) if changed else event


def find_message(event: ProviderEvent) -> OutboxMessage | None:
    """The message ``event`` is about: by tracking id, provider id, then Message-ID."""
    messages = OutboxMessage.objects.only("id", "message_id", "tracking_id")
    if event.tracking_id:
        found = messages.filter(tracking_id=event.tracking_id).first()
        if found:
            return found
    if event.provider_message_id:
        # SendGrid's sg_message_id is the 250 reply's id plus ".filter…" parts.
        candidates = {event.provider_message_id, event.provider_message_id.split(".", 1)[0]}
        found = messages.filter(provider_message_id__in=candidates).first()
        if found:
            return found
    if event.message_id:
        bare = event.message_id.strip().strip("<>")
        found = messages.filter(message_id__in=(f"<{bare}>", bare)).first()
        if found:
            return found
    return None


def record(event: ProviderEvent) -> RecipientEvent:
    """Store ``event`` against its message (or as unmatched); hard bounces and complaints
    also put the address on the suppression list."""
    event = without_nul(event)
    message = find_message(event)
    with transaction.atomic():
        row = RecipientEvent.objects.create(
            message=message,
            recipient=event.recipient.strip().lower()[:320],
            kind=event.kind,
            provider=event.provider,
            provider_event_id=event.provider_event_id[:200],
            occurred_at=event.occurred_at,
            detail=event.detail[:DETAIL_LIMIT],
            bounce_type=event.bounce_type if event.kind == EventKind.BOUNCED else "",
            reference=_reference(event)[:300] if message is None else "",
        )
        _suppress(row, message)
    return row


def is_suppressing(row: RecipientEvent) -> bool:
    return row.kind == EventKind.COMPLAINED or (
        row.kind == EventKind.BOUNCED and row.bounce_type == BounceType.HARD
    )


def _suppress(row: RecipientEvent, message: OutboxMessage | None) -> None:
    """Hard bounces and complaints list the address; soft bounces count towards the optional
    limit, and a delivery ends a row of them. An address the list cannot take is logged."""
    source = f"{row.provider} event"[:40]
    try:
        if is_suppressing(row):
            reason = (
                SuppressionReason.COMPLAINT
                if row.kind == EventKind.COMPLAINED
                else SuppressionReason.HARD_BOUNCE
            )
            suppression.suppress(row.recipient, reason, message=message, source=source)
        elif row.kind == EventKind.BOUNCED:
            suppression.record_soft_bounce(row.recipient, message)
        elif row.kind == EventKind.DELIVERED:
            suppression.record_delivery(row.recipient)
    except suppression.InvalidAddress as error:
        log.warning("A %s event names no usable address: %s", row.provider, error)


def _reference(event: ProviderEvent) -> str:
    parts = [
        f"{name} {value}"
        for name, value in (
            ("tracking id", event.tracking_id),
            ("provider id", event.provider_message_id),
            ("Message-ID", event.message_id),
        )
        if value
    ]
    return "; ".join(parts) or "nothing to match by"


@dataclass(frozen=True)
class Step:
    """One line of a recipient's timeline: an attempt or a provider event."""

    at: datetime
    label: str
    badge: str  # a CSS badge modifier: ok, err, queued or the event kind
    text: str
    source: str


EVENT_BADGES = {
    EventKind.DELIVERED: "ok",
    EventKind.DEFERRED: "queued",
    EventKind.BOUNCED: "err",
    EventKind.COMPLAINED: "err",
}


def timeline(message: OutboxMessage) -> list[tuple[str, list[Step]]]:
    """Each envelope recipient with its attempts and provider events, oldest first."""
    attempts = [
        Step(
            attempt.started_at,
            "Accepted by the server" if attempt.succeeded else f"Attempt failed ({attempt.step})",
            "ok" if attempt.succeeded else "err",
            attempt.reply,
            attempt.transport,
        )
        for attempt in message.attempts.all()
    ]
    events: dict[str, list[Step]] = {}
    for event in message.events.all():
        label = event.get_kind_display()
        if event.bounce_type:
            label = f"{label} ({event.get_bounce_type_display().lower()})"
        events.setdefault(event.recipient, []).append(
            Step(
                event.occurred_at,
                label,
                EVENT_BADGES.get(event.kind, ""),
                event.detail,
                event.provider,
            )
        )
    ordered = list(dict.fromkeys(rcpt.lower() for rcpt in message.envelope_recipients))
    ordered += [rcpt for rcpt in events if rcpt not in ordered]
    return [
        (rcpt, sorted(attempts + events.get(rcpt, []), key=lambda step: step.at))
        for rcpt in ordered
    ]


def unmatched() -> tuple[int, list[RecipientEvent]]:
    """How many events found no message, and the latest of them."""
    rows = RecipientEvent.objects.filter(message__isnull=True).order_by("-received_at", "-id")
    return rows.count(), list(rows[:200])


def unmatched_count() -> int:
    return RecipientEvent.objects.filter(message__isnull=True).count()


def purge_unmatched(keep_days: int, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(days=keep_days)
    deleted, _ = RecipientEvent.objects.filter(
        message__isnull=True, received_at__lt=cutoff
    ).delete()
    return deleted


@dataclass(frozen=True)
class Rates:
    """Per recipient over a period: out of the recipients accepted by the provider."""

    period: str
    sent: int
    delivered: int
    bounced: int
    complained: int

    def percent(self, count: int) -> float | None:
        return None if not self.sent else 100.0 * count / self.sent

    @property
    def delivery_rate(self) -> float | None:
        return self.percent(self.delivered)

    @property
    def bounce_rate(self) -> float | None:
        return self.percent(self.bounced)

    @property
    def complaint_rate(self) -> float | None:
        return self.percent(self.complained)


def rates(period: timedelta, label: str, now: datetime | None = None) -> Rates:
    """Delivery, bounce and complaint counts for messages sent within ``period``.

    Each (message, recipient) counts once per kind, however often a provider reported it.
    """
    since = (now or timezone.now()) - period
    sent_messages = OutboxMessage.objects.filter(sent_at__gte=since)
    sent = sum(
        sum(1 for state in statuses.values() if state == "accepted")
        for statuses in sent_messages.values_list("recipient_status", flat=True).iterator()
        if isinstance(statuses, dict)
    )
    by_kind = _distinct_pairs(since)
    return Rates(
        label,
        sent,
        by_kind.get(EventKind.DELIVERED, 0),
        by_kind.get(EventKind.BOUNCED, 0),
        by_kind.get(EventKind.COMPLAINED, 0),
    )


def _distinct_pairs(since: datetime) -> dict[str, int]:
    """Per kind: distinct (message, recipient) pairs among events of messages sent since."""
    pairs = (
        RecipientEvent.objects.filter(
            message__sent_at__gte=since,
            kind__in=(EventKind.DELIVERED, EventKind.BOUNCED, EventKind.COMPLAINED),
        )
        .values_list("kind", "message_id", "recipient")
        .distinct()
    )
    counted: dict[str, int] = {}
    for kind, _message, _recipient in pairs.iterator():
        counted[kind] = counted.get(kind, 0) + 1
    return counted


def last_event_at() -> datetime | None:
    latest = RecipientEvent.objects.order_by("-received_at").values_list("received_at", flat=True)
    return latest.first()
