"""The one way in for every email: write it to the outbox inside the caller's transaction."""

from __future__ import annotations

from email.header import decode_header, make_header
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction

from postroom.config import current_config
from postroom.delivery import suppression
from postroom.delivery.echo import echo_headers, new_tracking_id
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
    message: EmailMessage, kind: str = Kind.SYSTEM, channel: str = Channel.SITE
) -> OutboxMessage:
    """Queue ``message``; it exists only if the caller's transaction commits.

    The message is rendered to bytes here, once: what the worker sends later is exactly
    what is stored, and its Message-ID stays the same across retries. ``channel`` is
    ``fallback`` only for the few kinds that may use the hosting relay (invitations, alerts).
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
    tracking_id = new_tracking_id()
    for name, value in echo_headers(tracking_id).items():
        if name.lower() not in headers:  # the caller's own value wins
            message.extra_headers[name] = value
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
            notice=suppression.sign_in_notice(kind, recipients),
            tracking_id=tracking_id,
        )
        notify_on_commit()
    return row


def _join(addresses: list[str]) -> str:
    return ", ".join(address for _name, address in getaddresses(addresses) if address)
