"""Recording what providers report about each recipient after the 250, and reading it back.

An event finds its message by what the provider echoed (our tracking id), then by the
provider's own id from the 250 reply, then by Message-ID. An event that finds none is kept
as unmatched (``message`` is empty) for a while, so that it can be looked at.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from postroom.delivery import suppression
from postroom.delivery.models import (
    BounceType,
    EventKind,
    OutboxMessage,
    RecipientEvent,
    SoftBounce,
    SuppressionReason,
)

log = logging.getLogger("postroom.delivery")

DETAIL_LIMIT = 2000
LOOKUP_CHUNK = 500  # keys per query: within every database's limit on parameters


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


class Matcher:
    """Finds the messages of a whole batch of events with three queries (a few more for very
    large batches), rather than up to three per event.

    Several messages can share a provider id or a Message-ID (a resend keeps the Message-ID;
    some providers reuse ids): the one sent most recently wins.
    """

    def __init__(self, events: list[ProviderEvent]) -> None:
        tracking = {e.tracking_id for e in events if e.tracking_id}
        provider_ids = {c for e in events for c in _provider_candidates(e)}
        message_ids = {c for e in events for c in _message_id_candidates(e)}
        self.by_tracking = _index("tracking_id", tracking)
        self.by_provider_id = _index("provider_message_id", provider_ids)
        self.by_message_id = _index("message_id", message_ids)

    def find(self, event: ProviderEvent) -> OutboxMessage | None:
        """The message ``event`` is about: by tracking id, provider id, then Message-ID."""
        if found := self.by_tracking.get(event.tracking_id):
            return found
        if found := _latest(self.by_provider_id, _provider_candidates(event)):
            return found
        return _latest(self.by_message_id, _message_id_candidates(event))


def find_message(event: ProviderEvent) -> OutboxMessage | None:
    """The message ``event`` is about: by tracking id, provider id, then Message-ID."""
    return Matcher([event]).find(event)


def _provider_candidates(event: ProviderEvent) -> tuple[str, ...]:
    # SendGrid's sg_message_id is the 250 reply's id plus ".filter…" parts.
    if not event.provider_message_id:
        return ()
    return (event.provider_message_id, event.provider_message_id.split(".", 1)[0])


def _message_id_candidates(event: ProviderEvent) -> tuple[str, ...]:
    if not event.message_id:
        return ()
    bare = event.message_id.strip().strip("<>")
    return (f"<{bare}>", bare)


def _most_recent_first(row: OutboxMessage) -> tuple[bool, datetime, int]:
    never = datetime.min.replace(tzinfo=UTC)
    return (row.sent_at is not None, row.sent_at or never, row.pk)


def _index(field: str, keys: set[str]) -> dict[str, OutboxMessage]:
    """``keys`` → the most recently sent message with that value in ``field``."""
    index: dict[str, OutboxMessage] = {}
    ordered = sorted(keys)
    messages = OutboxMessage.objects.only(
        "id", "message_id", "tracking_id", "provider_message_id", "sent_at"
    )
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        for row in messages.filter(**{f"{field}__in": chunk}):
            key = getattr(row, field)
            if key not in index or _most_recent_first(row) > _most_recent_first(index[key]):
                index[key] = row
    return index


def _latest(index: dict[str, OutboxMessage], keys: tuple[str, ...]) -> OutboxMessage | None:
    found = [index[key] for key in keys if key in index]
    return max(found, key=_most_recent_first) if found else None


def record(event: ProviderEvent) -> RecipientEvent:
    """Store ``event`` against its message (or as unmatched); see :func:`record_all`."""
    return record_all([event])[0]


def record_all(events: list[ProviderEvent]) -> list[RecipientEvent]:
    """Store ``events`` against their messages (or as unmatched), in a few queries; hard
    bounces and complaints also put the address on the suppression list."""
    events = [without_nul(event) for event in events]
    matcher = Matcher(events)
    rows = [_row(event, matcher.find(event)) for event in events]
    with transaction.atomic():
        RecipientEvent.objects.bulk_create(rows, batch_size=LOOKUP_CHUNK)
        counting = _counting_soft_bounces(rows)
        for row in rows:
            _suppress(row, row.message, counting)
    return rows


def _row(event: ProviderEvent, message: OutboxMessage | None) -> RecipientEvent:
    return RecipientEvent(
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


def _counting_soft_bounces(rows: list[RecipientEvent]) -> set[str]:
    """The recipients with a row of soft bounces going: only their deliveries need a write."""
    keys = sorted({row.recipient for row in rows if row.kind == EventKind.DELIVERED})
    counting: set[str] = set()
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        counting.update(SoftBounce.objects.filter(key__in=chunk).values_list("key", flat=True))
    return counting


def is_suppressing(row: RecipientEvent) -> bool:
    return row.kind == EventKind.COMPLAINED or (
        row.kind == EventKind.BOUNCED and row.bounce_type == BounceType.HARD
    )


def _suppress(row: RecipientEvent, message: OutboxMessage | None, counting: set[str]) -> None:
    """Hard bounces and complaints list the address; soft bounces count towards the optional
    limit, and a delivery ends a row of them (``counting``: the recipients that have one).
    An address the list cannot take is logged."""
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
            counting.add(row.recipient)
        elif row.kind == EventKind.DELIVERED and row.recipient in counting:
            suppression.record_delivery(row.recipient)
            counting.discard(row.recipient)
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
    """Per recipient over a period: out of the recipients accepted by the provider.
    ``bounced`` counts hard bounces only (soft ones are temporary)."""

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
    """Per kind: distinct (message, recipient) pairs among events of messages sent since;
    bounces are the hard ones only."""
    # Only a hard bounce is a bounce here: a soft one is a delay that often ends in delivery.
    counted_kinds = Q(kind__in=(EventKind.DELIVERED, EventKind.COMPLAINED)) | Q(
        kind=EventKind.BOUNCED, bounce_type=BounceType.HARD
    )
    pairs = (
        RecipientEvent.objects.filter(counted_kinds, message__sent_at__gte=since)
        .values_list("kind", "message_id", "recipient")
        .distinct()
    )
    counted: dict[str, int] = {}
    for kind, _message, _recipient in pairs.iterator():
        counted[kind] = counted.get(kind, 0) + 1
    return counted


def last_event_by_provider(providers: list[str]) -> dict[str, datetime]:
    """When the latest event of each of ``providers`` arrived; one without any is left out."""
    rows = (
        RecipientEvent.objects.filter(provider__in=providers)
        .values("provider")
        .annotate(latest=Max("received_at"))
        .values_list("provider", "latest")
    )
    return dict(rows)
