"""A queued message as the API reports it: status, each recipient's outcome, the attempts."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist

from postroom.delivery import retry
from postroom.delivery.models import OutboxMessage, Status


def _recipient(address: str, message: OutboxMessage) -> dict[str, str]:
    state = message.recipient_status.get(address)
    if state == "accepted":
        return {"address": address, "outcome": "accepted"}
    if state is None:
        outcome = "cancelled" if message.status == Status.CANCELLED else "pending"
        if message.status == Status.FAILED:
            outcome = "failed"
        return {"address": address, "outcome": outcome}
    outcome = "deferred" if retry.is_transient(state) and not message.is_finished else "refused"
    return {"address": address, "outcome": outcome, "reply": state}


def _time(value: Any) -> str | None:
    return value.isoformat() if value else None


def describe(message: OutboxMessage) -> dict[str, Any]:
    try:
        extra = message.api_message
        tag, metadata = extra.tag, extra.metadata
    except ObjectDoesNotExist:
        tag, metadata = "", {}
    return {
        "id": message.pk,
        "message_id": message.message_id,
        "kind": message.kind,
        "status": message.status,
        "from": message.sender,
        "subject": message.subject,
        "tag": tag,
        "metadata": metadata,
        "created_at": _time(message.created_at),
        "next_attempt_at": None if message.is_finished else _time(message.next_attempt_at),
        "sent_at": _time(message.sent_at),
        "failed_at": _time(message.failed_at),
        "recipients": [_recipient(a, message) for a in message.envelope_recipients],
        "attempts": [
            {
                "started_at": _time(attempt.started_at),
                "duration_ms": attempt.duration_ms,
                "succeeded": attempt.succeeded,
                "step": attempt.step,
                "reply": attempt.reply,
            }
            for attempt in message.attempts.all()
        ],
    }
