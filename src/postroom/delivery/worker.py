"""The delivery worker: claims due messages from the outbox and hands them to the transport."""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from postroom.delivery import retry
from postroom.delivery.enqueue import wakeup
from postroom.delivery.models import DeliveryAttempt, OutboxMessage, Status
from postroom.delivery.routing import Route, current_route
from postroom.delivery.transports.base import DeliveryError, OutgoingMessage, SendResult

log = logging.getLogger("postroom.delivery")

BATCH_SIZE = 50
POLL_SECONDS = 1.0


def claim(limit: int = BATCH_SIZE, only: int | None = None) -> list[OutboxMessage]:
    """Move due messages from queued to sending; a row another worker took is skipped."""
    due = OutboxMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lte=timezone.now())
    if only is not None:
        due = due.filter(pk=only)
    claimed = []
    for pk in due.order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit]:
        taken = OutboxMessage.objects.filter(pk=pk, status=Status.QUEUED).update(
            status=Status.SENDING, attempt_count=F("attempt_count") + 1
        )
        if taken:
            claimed.append(OutboxMessage.objects.get(pk=pk))
    return claimed


def hold_or_release(route: Route | None) -> None:
    """Without a transport, queued mail is held; once there is one, held mail is queued again."""
    if route is None:
        OutboxMessage.objects.filter(status=Status.QUEUED).update(status=Status.HELD)
    else:
        OutboxMessage.objects.filter(status=Status.HELD).update(
            status=Status.QUEUED, next_attempt_at=timezone.now()
        )


def deliver(messages: list[OutboxMessage], route: Route) -> None:
    """Send a claimed batch over one transport connection and record every outcome."""
    transport = route.make_transport()
    try:
        started = time.monotonic()
        transport.open()
    except DeliveryError as error:
        for message in messages:
            _record_failure(message, route, error, started)
        return
    try:
        for message in messages:
            started = time.monotonic()
            outgoing = OutgoingMessage(
                sender=message.sender,
                recipients=_pending_recipients(message),
                raw=bytes(message.raw),
            )
            try:
                result = transport.send(outgoing)
            except DeliveryError as error:
                _record_failure(message, route, error, started)
            else:
                _record_success(message, route, result, started)
    finally:
        try:
            transport.close()
        except DeliveryError:
            log.warning("Closing the connection to %s failed", route.description)


def _pending_recipients(message: OutboxMessage) -> tuple[str, ...]:
    """Recipients a previous attempt already handed over are not sent to again."""
    done = {rcpt for rcpt, state in message.recipient_status.items() if state == "accepted"}
    return tuple(rcpt for rcpt in message.envelope_recipients if rcpt not in done)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _record_success(
    message: OutboxMessage, route: Route, result: SendResult, started: float
) -> None:
    status = dict(message.recipient_status)
    status.update({rcpt: "accepted" for rcpt in result.accepted})
    status.update(result.refused)
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            message=message,
            duration_ms=_elapsed_ms(started),
            transport=route.description,
            succeeded=True,
            reply=result.reply,
        )
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=Status.SENT,
            sent_at=timezone.now(),
            last_reply=result.reply,
            recipient_status=status,
        )
    log.info("Sent %s to %s: %s", message.message_id, route.description, result.reply)


def _record_failure(
    message: OutboxMessage, route: Route, error: DeliveryError, started: float
) -> None:
    now = timezone.now()
    retrying = error.transient and not retry.should_give_up(message.created_at, now, message.kind)
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            message=message,
            duration_ms=_elapsed_ms(started),
            transport=route.description,
            succeeded=False,
            step=error.step,
            reply=error.message,
        )
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=Status.QUEUED if retrying else Status.FAILED,
            next_attempt_at=retry.next_attempt_at(now, message.attempt_count),
            last_reply=error.message,
        )
    log.warning(
        "Delivery of %s via %s failed at %s (%s): %s",
        message.message_id,
        route.description,
        error.step,
        "will retry" if retrying else "gave up",
        error.message,
    )


def run_once(limit: int = BATCH_SIZE) -> int:
    """Deliver one batch of due messages; returns how many were attempted."""
    route = current_route()
    hold_or_release(route)
    if route is None:
        return 0
    batch = claim(limit)
    if batch:
        deliver(batch, route)
    return len(batch)


def run(stop: threading.Event, burst: bool = False) -> None:
    """Deliver until ``stop`` is set (or, with ``burst``, until nothing is due)."""
    while not stop.is_set():
        try:
            attempted = run_once()
        except Exception:
            log.exception("The delivery worker hit an unexpected error; it carries on")
            attempted = 0
        finally:
            close_old_connections()
        if burst and attempted == 0:
            return
        if attempted == 0:
            wakeup.wait(POLL_SECONDS)
            wakeup.clear()
