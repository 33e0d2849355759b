"""The suppression list: addresses this site no longer mails, because they bounced for good,
complained, or someone put them there.

Mailing a dead address again and again harms the sender's reputation, so the worker skips
suppressed recipients (:func:`split_envelope`). Provider events call :func:`suppress` and
:func:`record_soft_bounce`; the backoffice, the command line and imports call the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from email.utils import parseaddr

from django.db import IntegrityError, transaction
from django.utils import timezone

from postroom.config import current_config
from postroom.delivery.models import (
    OutboxMessage,
    SoftBounce,
    Suppression,
    SuppressionReason,
    SuppressionRemoval,
)

log = logging.getLogger("postroom.delivery")

MAX_ADDRESS = 320  # 64 for the local part, @, 255 for the domain


class InvalidAddress(ValueError):
    """Not something that can be suppressed; the text says what was wrong."""


def normalise(address: str) -> str:
    """``Name <Local@Example.COM>`` → ``Local@example.com``: the domain is case-insensitive,
    the local part is kept as written. Raises InvalidAddress."""
    text = (address or "").strip()
    if "<" in text:
        text = parseaddr(text)[1]
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in text) or "," in text:
        raise InvalidAddress(
            f"{address.strip()!r} is not an email address such as name@example.com."
        )
    if len(text) > MAX_ADDRESS:
        raise InvalidAddress(f"An email address has at most {MAX_ADDRESS} characters.")
    return f"{local}@{domain.lower()}"


def key_of(address: str) -> str:
    """The case-insensitive key one mailbox is listed under."""
    return normalise(address).lower()


def suppress(
    address: str,
    reason: str,
    *,
    message: OutboxMessage | None = None,
    source: str = "manual",
    note: str = "",
) -> Suppression:
    """List ``address``; an address already listed keeps its first reason, time and message."""
    if reason not in SuppressionReason.values:
        raise ValueError(
            f"Unknown suppression reason {reason!r}; one of {SuppressionReason.values}."
        )
    normalised = normalise(address)
    defaults = {
        "address": normalised,
        "reason": reason,
        "message": message,
        "source": source[:40],
        "note": note,
    }
    try:
        with transaction.atomic():
            entry, created = Suppression.objects.get_or_create(
                key=normalised.lower(), defaults=defaults
            )
    except IntegrityError:  # another process listed it at the same moment
        entry, created = Suppression.objects.get(key=normalised.lower()), False
    if created:
        log.info("Suppressed %s (%s, from %s).", normalised, reason, source)
        SoftBounce.objects.filter(key=entry.key).delete()
    return entry


def unsuppress(address: str, note: str = "", *, removed_by: str = "") -> Suppression | None:
    """Take ``address`` off the list, keeping a record of who did it and why."""
    key = key_of(address)
    with transaction.atomic():
        entry = Suppression.objects.select_for_update().filter(key=key).first()
        if entry is None:
            return None
        SuppressionRemoval.objects.create(
            address=entry.address,
            reason=entry.reason,
            suppressed_at=entry.created_at,
            note=note,
            removed_by=removed_by[:150],
        )
        entry.delete()
        SoftBounce.objects.filter(key=key).delete()
    log.info("Removed %s from the suppression list.", entry.address)
    return entry


def is_suppressed(address: str) -> Suppression | None:
    try:
        key = key_of(address)
    except InvalidAddress:
        return None
    return Suppression.objects.filter(key=key).first()


def suppressed_among(addresses: Iterable[str]) -> dict[str, Suppression]:
    """The listed ones among ``addresses``, keyed by the address as given."""
    keys: dict[str, str] = {}
    for address in addresses:
        try:
            keys[address] = key_of(address)
        except InvalidAddress:
            continue
    if not keys:
        return {}
    found = {s.key: s for s in Suppression.objects.filter(key__in=set(keys.values()))}
    return {address: found[key] for address, key in keys.items() if key in found}


def record_soft_bounce(address: str, message: OutboxMessage | None = None) -> Suppression | None:
    """Count a soft bounce; with ``Postroom:Suppression:SoftBounceLimit`` set, the address is
    suppressed after that many in a row within ``SoftBounceWindowDays``. Returns the entry
    when this bounce suppressed the address (or it already was)."""
    delivery = current_config().delivery
    limit = int(delivery.soft_bounce_limit.value or 0)
    try:
        key = key_of(address)
    except InvalidAddress:
        return None
    if limit <= 0:
        return None
    now = timezone.now()
    window = timedelta(days=int(delivery.soft_bounce_window_days.value or 7))
    with transaction.atomic():
        counter, _ = SoftBounce.objects.select_for_update().get_or_create(
            key=key, defaults={"count": 0, "first_at": now, "last_at": now}
        )
        if counter.first_at < now - window:  # the row started too long ago: start again
            counter.count, counter.first_at = 0, now
        counter.count += 1
        counter.last_at = now
        counter.save()
        reached = counter.count >= limit
    if not reached:
        return None
    return suppress(
        address,
        SuppressionReason.SOFT_BOUNCES,
        message=message,
        source="soft bounces",
        note=f"{counter.count} soft bounces in a row within {window.days} days.",
    )


def record_delivery(address: str) -> None:
    """A delivery ends a row of soft bounces."""
    try:
        SoftBounce.objects.filter(key=key_of(address)).delete()
    except InvalidAddress:
        return
