"""The suppression list: addresses this site no longer mails, because they bounced for good,
complained, or someone put them there.

Mailing a dead address again and again harms the sender's reputation, so the worker skips
suppressed recipients (:func:`split_envelope`). Provider events call :func:`suppress` and
:func:`record_soft_bounce`; the backoffice, the command line and imports call the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr

from django.db import IntegrityError, transaction
from django.utils import timezone

from postroom.config import current_config
from postroom.delivery.models import (
    Kind,
    OutboxMessage,
    SoftBounce,
    Status,
    Suppression,
    SuppressionReason,
    SuppressionRemoval,
)

log = logging.getLogger("postroom.delivery")

MAX_ADDRESS = 320  # 64 for the local part, @, 255 for the domain
LOOKUP_CHUNK = 500  # keys per query: well within every database's limit on parameters


class InvalidAddress(ValueError):
    """Not something that can be suppressed; the text says what was wrong."""


def normalise(address: str) -> str:
    """``Name <Local@Example.COM>`` → ``Local@example.com``: the domain is case-insensitive,
    the local part is kept as written. Raises InvalidAddress."""
    text = (address or "").strip()
    if "<" in text:
        text = parseaddr(text)[1]
    local, at, domain = text.rpartition("@")
    # isprintable() is false for every whitespace character but the space itself.
    if not at or not local or not domain or not text.isprintable() or " " in text or "," in text:
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
    keys = _keys(addresses)
    if not keys:
        return {}
    found = {s.key: s for s in Suppression.objects.filter(key__in=set(keys.values()))}
    return {address: found[key] for address, key in keys.items() if key in found}


def record_soft_bounce(address: str, message: OutboxMessage | None = None) -> Suppression | None:
    """Count a soft bounce; with ``Postroom:Suppression:SoftBounceLimit`` set, the address is
    suppressed after that many in a row within ``SoftBounceWindowDays``. Returns the entry
    when this bounce suppressed the address (or it already was)."""
    limit = int(current_config().delivery.soft_bounce_limit.value or 0)
    try:
        key = key_of(address)
    except InvalidAddress:
        return None
    if limit <= 0:
        return None
    now = timezone.now()
    window = _soft_bounce_window()
    # get_or_create copes with another process creating the row at the same moment.
    SoftBounce.objects.get_or_create(key=key, defaults={"first_at": now, "last_at": now})
    with transaction.atomic():
        counter = SoftBounce.objects.select_for_update().get(key=key)
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


def _soft_bounce_window() -> timedelta:
    return timedelta(days=int(current_config().delivery.soft_bounce_window_days.value or 7))


def forget_old_soft_bounces() -> int:
    """Counters whose row started before the window can no longer suppress: drop them."""
    cutoff = timezone.now() - _soft_bounce_window()
    return SoftBounce.objects.filter(first_at__lt=cutoff).delete()[0]


def record_delivery(address: str) -> None:
    """A delivery ends a row of soft bounces."""
    try:
        SoftBounce.objects.filter(key=key_of(address)).delete()
    except InvalidAddress:
        return


# -- sending ---------------------------------------------------------------------------------

# Mail that lets someone sign in (or shows what the server says now) goes out even to a listed
# address: the administrators are warned instead (see :func:`notice_for`).
NEVER_SUPPRESSED = (Kind.INVITE, Kind.PASSWORD_RESET, Kind.TEST)
SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Envelope:
    recipients: tuple[str, ...]  # the ones to send to now
    skipped: dict[str, str]  # suppressed recipient → its state, e.g. "suppressed: hard bounce"

    @property
    def all_suppressed(self) -> bool:
        return bool(self.skipped) and not self.recipients


def prefetch(messages: list[OutboxMessage]) -> None:
    """Look up a whole batch's recipients with one query, before its first message is sent.

    The worker must not query while an outcome is in flight on PostgreSQL (see outcomes), so
    :func:`screen` then reads what this left on each message instead of asking the database.
    """
    keys_of = {
        message.pk: _keys(message.envelope_recipients)
        for message in messages
        if message.kind not in NEVER_SUPPRESSED
    }
    listed: dict[str, Suppression] = {}
    ordered = sorted({key for keys in keys_of.values() for key in keys.values()})
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        listed.update((s.key, s) for s in Suppression.objects.filter(key__in=chunk))
    for message in messages:
        found = {
            address: state_of(listed[key])
            for address, key in keys_of.get(message.pk, {}).items()
            if key in listed
        }
        message.suppressed_recipients = found  # type: ignore[attr-defined]


def screen(message: OutboxMessage, recipients: tuple[str, ...]) -> Envelope:
    """The envelope recipients of this attempt without the suppressed ones.

    Each skipped one gets ``suppressed: <reason>`` in ``message.recipient_status``, which the
    worker saves with the outcome. It is looked up again at each attempt: an address taken
    off the list meanwhile gets the message on a retry.
    """
    if message.kind in NEVER_SUPPRESSED or not recipients:
        return Envelope(recipients, {})
    known: dict[str, str] | None = getattr(message, "suppressed_recipients", None)
    if known is None:  # not prefetched: ask now
        known = {
            address: state_of(entry) for address, entry in suppressed_among(recipients).items()
        }
    skipped = {address: known[address] for address in recipients if address in known}
    if not skipped:
        return Envelope(recipients, {})
    message.recipient_status = {**message.recipient_status, **skipped}
    return Envelope(tuple(r for r in recipients if r not in skipped), skipped)


def _keys(addresses: Iterable[str]) -> dict[str, str]:
    keys = {}
    for address in addresses:
        try:
            keys[address] = key_of(address)
        except InvalidAddress:
            continue
    return keys


def state_of(entry: Suppression) -> str:
    return f"{SUPPRESSED}: {entry.get_reason_display().lower()} on {entry.created_at:%Y-%m-%d}"


def is_suppressed_state(state: object) -> bool:
    return isinstance(state, str) and state.startswith(SUPPRESSED)


def outcome_when_all_skipped(message: OutboxMessage, envelope: Envelope) -> dict[str, object]:
    """The attempt's reply and the message's new fields when every recipient left is skipped.

    The message ends as suppressed, or as sent when an earlier attempt reached the others.
    """
    count = len(envelope.skipped)
    every = "The recipient is" if count == 1 else f"All {count} recipients are"
    reply = f"Not sent: {every} on the suppression list."
    states = message.recipient_status
    if any(state == "accepted" for state in states.values()):
        rest = "the others are" if count > 1 else "the other recipient is"
        reply = f"Not sent again: {rest} on the suppression list."
        # The message went out when the others were accepted: keep that time.
        return {
            "reply": reply,
            "last_reply": reply,
            "status": Status.SENT,
            "sent_at": message.sent_at or timezone.now(),
            "recipient_status": states,
        }
    return {
        "reply": reply,
        "last_reply": reply,
        "status": Status.SUPPRESSED,
        "recipient_status": states,
    }


def sign_in_notice(kind: str, recipients: Iterable[str]) -> str:
    """For an invitation or password reset to listed addresses: the warning the administrators
    get (on the message, in the log and in the next alert). The mail is sent all the same:
    nobody may be locked out by a bounce."""
    if kind not in (Kind.INVITE, Kind.PASSWORD_RESET):
        return ""
    listed = suppressed_among(recipients)
    if not listed:
        return ""
    what = "This invitation" if kind == Kind.INVITE else "This password reset"
    parts = [f"{address} ({state_of(entry)})" for address, entry in listed.items()]
    notice = (
        f"{what} went to an address on the suppression list: {', '.join(parts)}. It is sent "
        "anyway; if it bounces again, check the address with its owner."
    )
    # Only once it is really sent: a password reset for an unknown account is rolled back.
    transaction.on_commit(lambda: log.warning("%s", notice))
    return notice
