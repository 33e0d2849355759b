"""Each provider's payload in Postroom's words: one :class:`ProviderEvent` per recipient.

Events Postroom has no use for (SendGrid's ``processed``, SES's ``Send``, Postmark's
subscription changes, ...) give nothing. Opens and clicks are kept: they arrive only when the
owner turned tracking on at the provider, since Postroom never adds tracking itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from postroom.delivery.echo import ECHO_KEY
from postroom.delivery.models import BounceType, EventKind
from postroom.delivery.recipient_events import ProviderEvent
from postroom.events.errors import bad_request

MAX_EVENTS = 1000  # in one request; SendGrid batches far fewer
HARD, SOFT = BounceType.HARD, BounceType.SOFT


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)[:2000]
    return str(value)


def _when(value: Any) -> datetime:
    """Unix seconds (or milliseconds), ISO 8601 or Brevo's ``YYYY-MM-DD HH:MM:SS``; now if
    the provider sent nothing usable."""
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            seconds = float(value)
            if seconds > 1e11:
                seconds /= 1000
            return datetime.fromtimestamp(seconds, UTC)
        if isinstance(value, str) and value:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    return timezone.now()


def _objects(payload: Any, what: str) -> list[dict[str, Any]]:
    items = payload if isinstance(payload, list) else [payload]
    if not all(isinstance(item, dict) for item in items):
        raise bad_request(f"The body is not {what}.")
    if len(items) > MAX_EVENTS:
        raise bad_request(f"More than {MAX_EVENTS} events in one request.")
    return items


# SendGrid ---------------------------------------------------------------------------------

_SENDGRID = {
    "delivered": EventKind.DELIVERED,
    "deferred": EventKind.DEFERRED,
    "bounce": EventKind.BOUNCED,
    "dropped": EventKind.BOUNCED,
    "spamreport": EventKind.COMPLAINED,
    "open": EventKind.OPENED,
    "click": EventKind.CLICKED,
}


def sendgrid(payload: Any) -> Iterator[ProviderEvent]:
    for item in _objects(payload, "a JSON array of SendGrid events"):
        kind = _SENDGRID.get(str(item.get("event")))
        if kind is None or not item.get("email"):
            continue
        bounce = ""
        if kind == EventKind.BOUNCED:
            hard = item.get("event") == "bounce" and item.get("type", "bounce") == "bounce"
            bounce = HARD if hard else SOFT
        yield ProviderEvent(
            provider="sendgrid",
            kind=kind,
            recipient=_text(item["email"]),
            occurred_at=_when(item.get("timestamp")),
            provider_event_id=_text(item.get("sg_event_id")),
            detail=" ".join(
                _text(item.get(k)) for k in ("status", "reason", "response") if item.get(k)
            ),
            bounce_type=bounce,
            tracking_id=_text(item.get(ECHO_KEY)),
            provider_message_id=_text(item.get("sg_message_id")),
            message_id=_text(item.get("smtp-id")),
        )


# Mailgun ----------------------------------------------------------------------------------


def mailgun(payload: Any) -> Iterator[ProviderEvent]:
    data = payload.get("event-data")
    if not isinstance(data, dict):
        raise bad_request("The body has no event-data object.")
    event, severity = str(data.get("event")), str(data.get("severity", ""))
    kind, bounce = {
        "delivered": (EventKind.DELIVERED, ""),
        "failed": (
            (EventKind.BOUNCED, HARD) if severity == "permanent" else (EventKind.DEFERRED, "")
        ),
        "complained": (EventKind.COMPLAINED, ""),
        "opened": (EventKind.OPENED, ""),
        "clicked": (EventKind.CLICKED, ""),
    }.get(event, (None, ""))
    if kind is None or not data.get("recipient"):
        return
    status = data.get("delivery-status") if isinstance(data.get("delivery-status"), dict) else {}
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    message_headers = message.get("headers") if isinstance(message.get("headers"), dict) else {}
    variables = data.get("user-variables") if isinstance(data.get("user-variables"), dict) else {}
    detail = " ".join(
        _text(status.get(k)) for k in ("code", "message", "description") if status.get(k)
    )
    yield ProviderEvent(
        provider="mailgun",
        kind=kind,
        recipient=_text(data["recipient"]),
        occurred_at=_when(data.get("timestamp")),
        provider_event_id=_text(data.get("id")),
        detail=detail or _text(data.get("reason")),
        bounce_type=bounce,
        tracking_id=_text(variables.get(ECHO_KEY)),
        message_id=_text(message_headers.get("message-id")),
    )


# Postmark ---------------------------------------------------------------------------------

# "Blocked" is the receiving ISP refusing the sender (reputation, content), not a dead address:
# Postmark does not deactivate the recipient for it, so neither does the suppression list.
_POSTMARK_HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated"}
_POSTMARK_SOFT = {"Transient", "SoftBounce", "DnsError", "Unknown", "DMARCPolicy", "Blocked"}


def postmark(payload: Any) -> Iterator[ProviderEvent]:
    for item in _objects(payload, "a Postmark webhook object"):
        record_type, bounce_kind = str(item.get("RecordType")), str(item.get("Type", ""))
        metadata = item.get("Metadata") if isinstance(item.get("Metadata"), dict) else {}
        recipient = item.get("Recipient") or item.get("Email")
        bounce, when = "", item.get("ReceivedAt")
        if record_type == "Delivery":
            kind, when = EventKind.DELIVERED, item.get("DeliveredAt")
        elif record_type == "SpamComplaint" or bounce_kind == "SpamComplaint":
            kind, when = EventKind.COMPLAINED, item.get("BouncedAt")
        elif record_type == "Bounce" and bounce_kind in _POSTMARK_HARD | _POSTMARK_SOFT:
            kind, when = EventKind.BOUNCED, item.get("BouncedAt")
            bounce = HARD if bounce_kind in _POSTMARK_HARD else SOFT
        elif record_type == "Open":
            kind = EventKind.OPENED
        elif record_type == "Click":
            kind = EventKind.CLICKED
        else:
            continue
        if not recipient:
            continue
        yield ProviderEvent(
            provider="postmark",
            kind=kind,
            recipient=_text(recipient),
            occurred_at=_when(when),
            provider_event_id=_text(item.get("ID")),
            detail=" ".join(_text(item.get(k)) for k in ("Details", "Description") if item.get(k)),
            bounce_type=bounce,
            tracking_id=_text(metadata.get("postroom-id")),
            provider_message_id=_text(item.get("MessageID")),
        )


# Brevo ------------------------------------------------------------------------------------

_BREVO = {
    "delivered": (EventKind.DELIVERED, ""),
    "deferred": (EventKind.DEFERRED, ""),
    "soft_bounce": (EventKind.BOUNCED, SOFT),
    "hard_bounce": (EventKind.BOUNCED, HARD),
    "invalid_email": (EventKind.BOUNCED, HARD),
    "blocked": (EventKind.BOUNCED, SOFT),
    "spam": (EventKind.COMPLAINED, ""),
    "complaint": (EventKind.COMPLAINED, ""),
    "opened": (EventKind.OPENED, ""),
    "unique_opened": (EventKind.OPENED, ""),
    "click": (EventKind.CLICKED, ""),
}


def brevo(payload: Any) -> Iterator[ProviderEvent]:
    for item in _objects(payload, "a Brevo webhook object"):
        kind, bounce = _BREVO.get(str(item.get("event")), (None, ""))
        if kind is None or not item.get("email"):
            continue
        custom = _text(item.get("X-Mailin-custom"))
        prefix = f"{ECHO_KEY}:"
        yield ProviderEvent(
            provider="brevo",
            kind=kind,
            recipient=_text(item["email"]),
            occurred_at=_when(item.get("ts_event") or item.get("ts") or item.get("date")),
            # Brevo's "id" names the webhook, not the event: the message makes it one event.
            provider_event_id=f"{_text(item.get('id'))}:{item.get('event')}:"
            f"{_text(item.get('ts_event'))}:{_text(item.get('message-id'))}",
            detail=_text(item.get("reason")),
            bounce_type=bounce,
            tracking_id=custom[len(prefix) :] if custom.startswith(prefix) else "",
            message_id=_text(item.get("message-id")),
        )


# SES through SNS --------------------------------------------------------------------------


def ses(notification: dict[str, Any]) -> Iterator[ProviderEvent]:
    """The SES event inside an SNS Notification's ``Message`` (a JSON string)."""
    try:
        event = json.loads(str(notification.get("Message", "")))
    except json.JSONDecodeError:
        raise bad_request("The SNS Message is not an SES event in JSON.") from None
    if not isinstance(event, dict) or not isinstance(event.get("mail"), dict):
        raise bad_request("The SNS Message is not an SES event (it has no mail object).")
    mail = event["mail"]
    event_type = str(event.get("eventType") or event.get("notificationType") or "")
    tags = mail.get("tags") if isinstance(mail.get("tags"), dict) else {}
    tracking = tags.get(ECHO_KEY) or [""]
    common = mail.get("commonHeaders") if isinstance(mail.get("commonHeaders"), dict) else {}
    shared = {
        "provider": "ses",
        "tracking_id": _text(tracking[0] if isinstance(tracking, list) else tracking),
        "provider_message_id": _text(mail.get("messageId")),
        "message_id": _text(common.get("messageId")),
    }
    base_id = _text(notification.get("MessageId"))
    for recipient, kind, bounce, detail, when in _ses_recipients(event_type, event):
        if not recipient or not isinstance(recipient, str):
            continue
        yield ProviderEvent(
            kind=kind,
            recipient=recipient,
            occurred_at=_when(when),
            provider_event_id=f"{base_id}:{recipient}",
            detail=detail,
            bounce_type=bounce,
            **shared,
        )


def _ses_recipients(event_type: str, event: dict[str, Any]) -> Iterator[tuple]:
    section = event.get(event_type[:1].lower() + event_type[1:], {})
    if not isinstance(section, dict):
        return
    when = section.get("timestamp")
    if event_type == "Bounce":
        bounce = HARD if section.get("bounceType") == "Permanent" else SOFT
        for rcpt in section.get("bouncedRecipients") or []:
            detail = " ".join(
                _text(rcpt.get(k)) for k in ("status", "diagnosticCode") if rcpt.get(k)
            )
            yield rcpt.get("emailAddress", ""), EventKind.BOUNCED, bounce, detail, when
    elif event_type == "Complaint":
        detail = _text(section.get("complaintFeedbackType"))
        for rcpt in section.get("complainedRecipients") or []:
            yield rcpt.get("emailAddress", ""), EventKind.COMPLAINED, "", detail, when
    elif event_type == "Delivery":
        for rcpt in section.get("recipients") or []:
            yield rcpt, EventKind.DELIVERED, "", _text(section.get("smtpResponse")), when
    elif event_type == "DeliveryDelay":
        for rcpt in section.get("delayedRecipients") or []:
            detail = " ".join(
                _text(rcpt.get(k)) for k in ("status", "diagnosticCode") if rcpt.get(k)
            )
            yield rcpt.get("emailAddress", ""), EventKind.DEFERRED, "", detail, when
    elif event_type in ("Open", "Click"):
        kind = EventKind.OPENED if event_type == "Open" else EventKind.CLICKED
        for rcpt in event["mail"].get("destination") or []:
            yield rcpt, kind, "", _text(section.get("link")), when


# Generic ----------------------------------------------------------------------------------

_GENERIC_KINDS = {kind.value for kind in EventKind}


def generic(payload: Any) -> Iterator[ProviderEvent]:
    """``{"events": [{"id", "type", "recipient", "timestamp", "postroom_id" | "message_id" |
    "provider_message_id", "bounce_type", "detail"}]}`` or one such event alone."""
    items = payload.get("events", payload) if isinstance(payload, dict) else payload
    for item in _objects(items, 'a generic event object or {"events": [...]}'):
        kind = str(item.get("type", ""))
        if kind not in _GENERIC_KINDS:
            raise bad_request(f"type must be one of {', '.join(sorted(_GENERIC_KINDS))}.")
        if not item.get("recipient"):
            raise bad_request("Each event needs a recipient.")
        bounce = str(item.get("bounce_type", "hard" if kind == EventKind.BOUNCED else ""))
        if kind == EventKind.BOUNCED and bounce not in (HARD, SOFT):
            raise bad_request("bounce_type must be hard or soft.")
        yield ProviderEvent(
            provider="generic",
            kind=kind,
            recipient=_text(item["recipient"]),
            occurred_at=_when(item.get("timestamp")),
            provider_event_id=_text(item.get("id")),
            detail=_text(item.get("detail")),
            bounce_type=bounce,
            tracking_id=_text(item.get(ECHO_KEY)),
            provider_message_id=_text(item.get("provider_message_id")),
            message_id=_text(item.get("message_id")),
        )
