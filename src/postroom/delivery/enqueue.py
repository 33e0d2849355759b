"""The one way in for every email: write it to the outbox inside the caller's transaction."""

from __future__ import annotations

import email.errors
import email.policy
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Model

from postroom.config import current_config
from postroom.delivery.messageid import new_message_id
from postroom.delivery.models import Channel, Kind, OutboxMessage
from postroom.delivery.wakeup import notify_on_commit

FALLBACK_FROM = "postroom@localhost"

# Only these may travel through the hosting relay: invitations, and the outbox's own alerts.
FALLBACK_KINDS = (Kind.INVITE, Kind.SYSTEM)


def notify_workers() -> None:
    """Wake the workers once the current transaction commits (at once outside of one)."""
    notify_on_commit()


def default_from(channel: str = Channel.SITE) -> str:
    """The SMTP From of the effective settings, or a local placeholder when there is none.

    Mail through the hosting relay uses ``POSTROOM_FALLBACK_FROM`` when the site has no From:
    a relay accepts only senders of its own domains.
    """
    config = current_config()
    configured = config.smtp.from_address.value
    if not configured and channel == Channel.FALLBACK:
        configured = config.hosting.fallback_from.value
    return configured or FALLBACK_FROM


def enqueue(
    message: EmailMessage,
    kind: str = Kind.SYSTEM,
    channel: str = Channel.SITE,
    application: Model | None = None,
) -> OutboxMessage:
    """Queue ``message``; it exists only if the caller's transaction commits.

    The message is rendered to bytes here, once: what the worker sends later is exactly
    what is stored, and its Message-ID stays the same across retries. ``channel`` is
    ``fallback`` only for the few kinds that may use the hosting relay (invitations, alerts).
    ``application`` is the application that handed the message in (the HTTP API).
    """
    if channel == Channel.FALLBACK and kind not in FALLBACK_KINDS:
        raise ValueError(
            f"Only invitations and alerts may use the fallback relay, not {kind} mail."
        )
    if not message.from_email or message.from_email == settings.DEFAULT_FROM_EMAIL:
        message.from_email = default_from(channel)
    headers = {name.lower() for name in message.extra_headers}
    if "message-id" not in headers:
        message.extra_headers["Message-ID"] = new_message_id(message.from_email)
    mime = message.message()
    recipients = message.recipients()
    if not recipients:
        raise ValueError("An email needs at least one recipient (To, Cc or Bcc).")
    with transaction.atomic():
        row = OutboxMessage.objects.create(
            kind=kind,
            channel=channel,
            sender=parseaddr(message.from_email)[1] or message.from_email,
            to=_join(message.to),
            cc=_join(message.cc),
            bcc=_join(message.bcc),
            subject=str(make_header(decode_header(mime.get("Subject", "")))),
            message_id=str(mime["Message-ID"]),
            raw=mime.as_bytes(linesep="\r\n"),
            application=application,
        )
        notify_on_commit()
    return row


def enqueue_raw(
    raw: bytes,
    sender: str,
    recipients: list[str] | tuple[str, ...],
    kind: str = Kind.RELAY,
    application: Model | None = None,
) -> OutboxMessage:
    """Queue a message that arrived whole (the SMTP relay), stored as received.

    ``sender`` and ``recipients`` are the envelope (MAIL FROM, RCPT TO); the worker sends to
    exactly these. For the log they are split by the headers: envelope recipients named in To
    or Cc are listed there, every other one (Bcc, or a list's members) as Bcc. The one change
    to the bytes: a message without a Message-ID gets one in front, as Postfix's cleanup does,
    so that the log, the status API and the recipients' replies can all name it.
    """
    envelope = _unique(recipients)
    if not envelope:
        raise ValueError("An email needs at least one envelope recipient (RCPT TO).")
    headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    message_id = str(headers.get("Message-ID", "") or "").strip()
    if not message_id:
        message_id = new_message_id(sender or _first_address(headers.get("From", "")))
        raw = b"Message-ID: " + message_id.encode("ascii") + b"\r\n" + raw
    named_to = {a.lower() for a in _addresses(headers.get_all("To", []))}
    named_cc = {a.lower() for a in _addresses(headers.get_all("Cc", []))} - named_to
    to = [r for r in envelope if r.lower() in named_to]
    cc = [r for r in envelope if r.lower() in named_cc]
    bcc = [r for r in envelope if r.lower() not in named_to | named_cc]
    with transaction.atomic():
        row = OutboxMessage.objects.create(
            kind=kind,
            channel=Channel.SITE,
            sender=sender,
            to=", ".join(to),
            cc=", ".join(cc),
            bcc=", ".join(bcc),
            subject=_decoded(headers.get("Subject", ""))[:998],
            message_id=message_id[:255],
            raw=bytes(raw),
            application=application,
        )
        notify_on_commit()
    return row


def _unique(addresses: list[str] | tuple[str, ...]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for address in (a.strip() for a in addresses):
        if address and address.lower() not in seen:
            seen.add(address.lower())
            kept.append(address)
    return kept


def _addresses(values: list[str]) -> list[str]:
    return [address for _name, address in getaddresses([str(v) for v in values]) if address]


def _first_address(value: str) -> str:
    found = _addresses([value])
    return found[0] if found else ""


def _decoded(value: str) -> str:
    try:
        return str(make_header(decode_header(str(value))))
    except (UnicodeError, LookupError, ValueError, email.errors.HeaderParseError):
        return str(value)


def _join(addresses: list[str]) -> str:
    return ", ".join(address for _name, address in getaddresses(addresses) if address)
