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
        recorded = unmatched = skipped = 0
        for event in map(recipient_events.without_nul, events):
            if _seen(event):
                skipped += 1
                continue
            row = recipient_events.record(event)
            recorded += 1
            unmatched += row.message_id is None
    return Outcome(recorded, unmatched, skipped)


def _seen(event: recipient_events.ProviderEvent) -> bool:
    return (
        bool(event.provider_event_id)
        and RecipientEvent.objects.filter(
            provider=event.provider,
            provider_event_id=event.provider_event_id[:200],
            recipient=event.recipient.strip().lower(),
        ).exists()
    )


def provider_named(slug: str) -> Provider | None:
    return PROVIDERS.get(slug)
