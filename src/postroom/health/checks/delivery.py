"""The outbox: a worker is running, the queue moves, few messages fail, none are held."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Min
from django.urls import reverse
from django.utils import timezone

from postroom.delivery.alerts import IS_ALERT
from postroom.delivery.models import OutboxMessage, Status, WorkerHeartbeat
from postroom.delivery.policy import current_policy
from postroom.delivery.routing import describe_destination
from postroom.health.registry import DELIVERY, Result, check

ALIVE_WITHIN = timedelta(minutes=2)
QUEUE_WARNING_AFTER = timedelta(minutes=15)
DOCS = "README.md#delivery-the-outbox-and-its-workers"


def _ago(delta: timedelta) -> str:
    seconds = int(max(delta.total_seconds(), 0))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} minutes ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} hours ago"
    return f"{seconds // 86400} days ago"


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


@check(
    "delivery-worker",
    "A delivery worker is running",
    DELIVERY,
    "Mail is sent by a worker process (postroom worker, or postroom serve), never by the web"
    " request; without one, mail waits in the queue.",
    docs=DOCS,
    position=10,
)
def worker() -> list[Result]:
    now = timezone.now()
    alive = list(WorkerHeartbeat.objects.filter(last_seen_at__gte=now - ALIVE_WITHIN))
    if alive:
        names = ", ".join(
            f"{beat.hostname} (pid {beat.pid}, seen {_ago(now - beat.last_seen_at)})"
            for beat in alive[:5]
        )
        more = f" and {len(alive) - 5} more" if len(alive) > 5 else ""
        count = f"{len(alive)} worker{'s' if len(alive) != 1 else ''}"
        return [Result.success(f"{count} running: {names}{more}.")]
    last = WorkerHeartbeat.objects.order_by("-last_seen_at").first()
    seen = (
        f" The last one ({last.hostname}, pid {last.pid}) was seen {_ago(now - last.last_seen_at)}."
        if last
        else ""
    )
    return [
        Result.error(
            f"No delivery worker is running: start `postroom worker` or `postroom serve`.{seen}",
            "Run `postroom worker` as a service (systemd, a container, a scheduled task), or"
            " `postroom serve`, which runs the backoffice and a worker together.",
        )
    ]


@check(
    "delivery-queue",
    "The queue moves",
    DELIVERY,
    "How many messages wait to be sent and how long the oldest has waited.",
    docs=DOCS,
)
def queue() -> list[Result]:
    now = timezone.now()
    waiting = OutboxMessage.objects.filter(status__in=(Status.QUEUED, Status.SENDING))
    count = waiting.count()
    if not count:
        return [Result.success("The queue is empty: every message has been handled.")]
    oldest = OutboxMessage.objects.filter(status=Status.QUEUED).aggregate(Min("created_at"))
    oldest_at = oldest["created_at__min"]
    backlog = f"{count} message{'s' if count != 1 else ''} waiting"
    link = reverse("delivery:log") + "?" + urlencode({"status": Status.QUEUED})
    if oldest_at is None:
        return [Result.success(f"{backlog}, all being sent now.")]
    age = now - oldest_at
    stuck_after = current_policy().stuck_after
    text = f"{backlog}; the oldest was queued {_ago(age)}."
    fix = (
        "Check that a worker runs (see the worker check) and the SMTP check; the email log"
        " shows each message's last reply. Messages wait between retries, so one slow server"
        f" can hold the queue ({describe_destination()})."
    )
    kw = {"link": link, "link_text": "Queued messages"}
    if age > stuck_after:
        return [
            Result.error(
                f"The queue is stuck: {text} (limit: {_minutes(stuck_after)} minutes,"
                " Postroom:Alerts:StuckAfterMinutes)",
                fix,
                **kw,
            )
        ]
    if age > QUEUE_WARNING_AFTER:
        return [Result.warning(f"The queue is slow: {text}", fix, **kw)]
    return [Result.success(f"{text[:-1]}: that is normal.", **kw)]


@check(
    "delivery-failures",
    "No messages failed recently",
    DELIVERY,
    "Messages that failed for good in the last 24 hours (after every retry, or refused"
    " outright by the server).",
    docs=DOCS,
)
def failures() -> list[Result]:
    since = timezone.now() - timedelta(hours=24)
    failed = (
        OutboxMessage.objects.filter(status=Status.FAILED, failed_at__gte=since)
        .exclude(IS_ALERT)
        .order_by("-failed_at")
    )
    count = failed.count()
    if not count:
        return [Result.success("No message failed in the last 24 hours.")]
    latest = failed.first()
    reply = f" The latest: “{latest.last_reply[:160]}”" if latest and latest.last_reply else ""
    link = reverse("delivery:log") + "?" + urlencode({"status": Status.FAILED, "period": "24h"})
    return [
        Result.warning(
            f"{count} message{'s' if count != 1 else ''} failed in the last 24 hours.{reply}",
            "Open the failed messages in the email log: each shows the server's reply and what"
            " to do; fix the cause, then retry or resend them from there.",
            link=link,
            link_text="Failed messages",
        )
    ]


@check(
    "delivery-held",
    "No messages are held",
    DELIVERY,
    "Messages are held when there is no way to send them (Production without SMTP settings);"
    " they go out by themselves once valid settings appear.",
    docs="README.md#which-transport-carries-mail",
)
def held() -> list[Result]:
    count = OutboxMessage.objects.filter(status=Status.HELD).count()
    if not count:
        return [Result.success("No message is held.")]
    link = reverse("delivery:log") + "?" + urlencode({"status": Status.HELD})
    return [
        Result.warning(
            f"{count} message{'s' if count != 1 else ''} held for want of settings:"
            f" {describe_destination()}.",
            "Configure SMTP (Umbraco:CMS:Global:Smtp); held messages are sent once valid"
            " settings appear.",
            link=link,
            link_text="Held messages",
        )
    ]
