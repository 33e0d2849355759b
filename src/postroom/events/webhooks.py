"""Taking one webhook request: size, signature, replay, shape, then the events, all or none.

Nothing is written unless the whole request is good. A replayed event id inside a fresh,
signed request (a provider retrying a batch) is skipped rather than refused.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction

from postroom.config import current_config
from postroom.delivery import recipient_events
from postroom.delivery.models import RecipientEvent
from postroom.events import replay
from postroom.events.errors import Refused, bad_request
from postroom.events.providers import PROVIDERS, Provider
from postroom.events.verify import sns

log = logging.getLogger("postroom.events")

MAX_BODY = 1024 * 1024  # bytes; SendGrid's batches are far smaller


@dataclass(frozen=True)
class Outcome:
    recorded: int = 0
    unmatched: int = 0
    skipped: int = 0
    note: str = ""


def receive(provider: Provider, body: bytes, headers: Mapping[str, str]) -> Outcome:
    """Verify and record one request; raises :class:`Refused` with what was wrong."""
    if len(body) > MAX_BODY:
        raise Refused(413, f"The body is larger than {MAX_BODY // 1024} KiB.")
    tolerance = current_config().events.tolerance_seconds.value
    verified = provider.verify(body, headers, provider.secret(), tolerance)
    payload = verified.payload
    if provider.slug == "ses":
        kind = payload.get("Type")
        if kind in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
            replay.remember(provider.slug, verified.replay_key)
            if kind == "SubscriptionConfirmation":
                sns.confirm_subscription(payload)
                log.info("Confirmed the SNS subscription of %s", payload.get("TopicArn"))
                return Outcome(note="subscription confirmed")
            return Outcome(note="unsubscribed")
    elif provider.slug == "mailgun" and not isinstance(payload, dict):
        raise bad_request("The body is not a Mailgun event object.")
    try:
        events = list(provider.read(payload))
    except (AttributeError, TypeError, KeyError) as error:
        raise bad_request(f"The body does not have the shape {provider.name} sends.") from error
    with transaction.atomic():
        replay.remember(provider.slug, verified.replay_key)
        fresh, skipped = _not_seen([recipient_events.without_nul(e) for e in events])
        rows = recipient_events.record_all(fresh)
    unmatched = sum(row.message_id is None for row in rows)
    return Outcome(len(rows), unmatched, skipped)


def _not_seen(
    events: list[recipient_events.ProviderEvent],
) -> tuple[list[recipient_events.ProviderEvent], int]:
    """The events not recorded before (nor earlier in this batch), and how many were."""
    seen = _recorded(events)
    fresh, skipped = [], 0
    for event in events:
        if event.provider_event_id:
            mark = (event.provider, event.provider_event_id[:200], _recipient(event))
            if mark in seen:
                skipped += 1
                continue
            seen.add(mark)
        fresh.append(event)
    return fresh, skipped


def _recorded(events: list[recipient_events.ProviderEvent]) -> set[tuple[str, str, str]]:
    """(provider, event id, recipient) of the batch's event ids already recorded: one query
    per few hundred ids."""
    ids = sorted({e.provider_event_id[:200] for e in events if e.provider_event_id})
    providers = {e.provider for e in events}
    seen: set[tuple[str, str, str]] = set()
    for start in range(0, len(ids), recipient_events.LOOKUP_CHUNK):
        chunk = ids[start : start + recipient_events.LOOKUP_CHUNK]
        rows = RecipientEvent.objects.filter(provider__in=providers, provider_event_id__in=chunk)
        seen.update(rows.values_list("provider", "provider_event_id", "recipient"))
    return seen


def _recipient(event: recipient_events.ProviderEvent) -> str:
    return event.recipient.strip().lower()[:320]


def provider_named(slug: str) -> Provider | None:
    return PROVIDERS.get(slug)
