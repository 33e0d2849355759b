"""What one attempt means for its message: its next status, its recipients' states, its
next try. Pure functions of the message, the attempt's result and the delivery policy; the
worker records what they return (see outcomes).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from postroom.delivery import retry
from postroom.delivery.models import OutboxMessage, Status
from postroom.delivery.policy import DeliveryPolicy
from postroom.delivery.providerid import provider_id
from postroom.delivery.transports.base import DeliveryError, SendResult


def after_result(
    message: OutboxMessage, result: SendResult, now: datetime, policy: DeliveryPolicy
) -> dict[str, Any]:
    """The message's new fields once the server answered its DATA (or refused everyone).

    Recipients refused for now wait for another try; the message is sent when anyone
    accepted it, and failed when everyone refused it for good.
    """
    states = dict(message.recipient_status)
    states.update({rcpt: "accepted" for rcpt in result.accepted})
    states.update(result.refused)
    waiting = [r for r, reply in result.refused.items() if retry.is_transient(reply)]
    if waiting and not giving_up(message, now, policy):
        status = Status.QUEUED
    elif any(state == "accepted" for state in states.values()):
        status = Status.SENT
    else:
        status = Status.FAILED
    return {
        "status": status,
        "sent_at": now if status == Status.SENT else None,
        "failed_at": now if status == Status.FAILED else None,
        "last_reply": result.reply,
        "recipient_status": states,
        "provider_message_id": provider_id(result.reply) or message.provider_message_id,
        "next_attempt_at": retry.next_attempt_at(now, message.attempt_count, schedule=policy.retry),
    }


def after_failure(
    message: OutboxMessage, error: DeliveryError, now: datetime, policy: DeliveryPolicy
) -> dict[str, Any]:
    """The message's new fields after a failed attempt: queued for another try while the
    error is transient and the message young enough, failed otherwise."""
    give_up = giving_up(message, now, policy)
    retrying = error.transient and not give_up
    reply = error.message
    if error.transient and give_up and message.kind != "test":
        reply = f"Gave up after {_as_words(policy.give_up_after)}: {reply}"
    return {
        "status": Status.QUEUED if retrying else Status.FAILED,
        "failed_at": None if retrying else now,
        "next_attempt_at": retry.next_attempt_at(now, message.attempt_count, schedule=policy.retry),
        "last_reply": reply,
    }


def pending_recipients(message: OutboxMessage) -> tuple[str, ...]:
    """Recipients not yet accepted and not refused for good: accepted ones are never resent."""
    states = message.recipient_status
    return tuple(
        rcpt
        for rcpt in message.envelope_recipients
        if rcpt not in states or (states[rcpt] != "accepted" and retry.is_transient(states[rcpt]))
    )


def as_waiting(error: DeliveryError) -> DeliveryError:
    """A refused connection, greeting or login says nothing about the messages: even a 5xx
    there (a wrong password) is a setting to fix, so they wait and are retried."""
    return DeliveryError(
        error.message,
        step=error.step,
        transient=True,
        reply=error.reply,
        connection=error.connection,
    )


def giving_up(message: OutboxMessage, now: datetime, policy: DeliveryPolicy) -> bool:
    return retry.should_give_up(message.created_at, now, message.kind, policy.give_up_after)


def _as_words(period: timedelta) -> str:
    hours = int(period.total_seconds() // 3600)
    return f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"
