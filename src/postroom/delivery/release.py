"""Send a message on to other recipients: a caught message released from the development
inbox, or a logged message resent to another address. Both are new rows of the email log.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from postroom.delivery import actions, echo
from postroom.delivery.enqueue import default_from, enqueue_raw
from postroom.delivery.messageid import new_message_id
from postroom.delivery.models import Kind, OutboxMessage
from postroom.delivery.routing import current_route

MAX_RECIPIENTS = 50


def release_refusal() -> str | None:
    """Why a caught message cannot be released now, or None.

    Releasing must reach a real server: with no SMTP server configured the only route is the
    development inbox, which would catch the message again.
    """
    route = current_route()
    if route is None or route.development_inbox:
        return (
            "No SMTP server is configured, so there is nowhere to release to: mail would only "
            "come back to this inbox. Configure Postroom:Smtp (see Settings) and try again."
        )
    return None


def parse_recipients(text: str) -> tuple[list[str], str | None]:
    """Addresses separated by commas, semicolons or spaces; (addresses, problem)."""
    given = [part for part in text.replace(";", ",").replace(" ", ",").split(",") if part]
    if not given:
        return [], "Give at least one recipient address."
    if len(given) > MAX_RECIPIENTS:
        return [], f"Give at most {MAX_RECIPIENTS} recipients at once."
    for address in given:
        try:
            validate_email(address)
        except ValidationError:
            return [], f"“{address[:80]}” is not an email address."
    return list(dict.fromkeys(given)), None


def release(raw: bytes, sender: str, recipients: list[str]) -> OutboxMessage:
    """Queue a caught message, as caught but with a fresh Message-ID, to ``recipients``."""
    message_id = new_message_id(sender or default_from())
    raw = actions.replace_message_id(bytes(raw), message_id)
    return enqueue_raw(raw, sender or default_from(), recipients, kind=Kind.RELEASE)


def resend_to(message: OutboxMessage, recipients: list[str]) -> OutboxMessage | None:
    """Queue a copy of a logged message to ``recipients`` only; None if its body was purged.

    The headers stay as they were (the To header still names the first recipients), as a
    provider's "resend" does; only the envelope and the Message-ID change.
    """
    if not bytes(message.raw):
        return None
    message_id = new_message_id(message.sender)
    tracking_id = echo.new_tracking_id() if message.tracking_id else ""
    raw = echo.retag(bytes(message.raw), message.tracking_id, tracking_id)
    raw = actions.replace_message_id(raw, message_id)
    with transaction.atomic():  # the worker sees the row only once it is complete
        copy = enqueue_raw(raw, message.sender, recipients, kind=message.kind)
        # enqueue_raw files recipients missing from To/Cc as Bcc; here they are the To.
        OutboxMessage.objects.filter(pk=copy.pk).update(
            to=", ".join(recipients), cc="", bcc="", tracking_id=tracking_id,
            application_id=message.application_id,
        )  # fmt: skip
    copy.refresh_from_db()
    return copy
