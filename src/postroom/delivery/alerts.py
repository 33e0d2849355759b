"""Telling administrators when mail fails for good or the queue is stuck.

Three channels: the backoffice banner (the dashboard reads :func:`current_problems`), an email
through the fallback relay where there is one, and a JSON POST to an optional webhook.
Alerts are throttled, and an alert that fails is never alerted about.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.core.mail import EmailMessage
from django.db.models import Min, Q
from django.urls import reverse
from django.utils import timezone

from postroom import runtime
from postroom.config.sections import webhook_url_error
from postroom.core import throttle
from postroom.core.links import configured_base_url
from postroom.core.permissions import administrator_emails
from postroom.delivery.models import Channel, Kind, OutboxMessage, Status
from postroom.delivery.policy import DeliveryPolicy

log = logging.getLogger("postroom.delivery")

WEBHOOK_TIMEOUT = 10.0
ALERT_KEY = "alert"
IS_ALERT = Q(kind=Kind.SYSTEM, channel=Channel.FALLBACK)


@dataclass
class Problems:
    failed: int = 0  # failed for good since the last alert (or in the last 24 hours)
    oldest_queued_minutes: int | None = None  # when the queue is stuck
    examples: list[dict] = field(default_factory=list)
    # invitations and password resets sent to suppressed addresses, and the latest notices
    suppressed_sign_ins: int = 0
    notices: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.failed or self.oldest_queued_minutes or self.suppressed_sign_ins)

    def summary(self) -> str:
        parts = []
        if self.failed:
            parts.append(f"{self.failed} message{'s' if self.failed != 1 else ''} failed for good")
        if self.oldest_queued_minutes:
            parts.append(
                f"the queue is stuck: the oldest message has waited "
                f"{self.oldest_queued_minutes} minutes"
            )
        if self.suppressed_sign_ins:
            count = self.suppressed_sign_ins
            parts.append(
                f"{count} invitation{'s' if count != 1 else ''} or password reset"
                f"{'s' if count != 1 else ''} went to suppressed addresses"
            )
        return "; ".join(parts).capitalize() + "." if parts else "All is well."


def current_problems(policy: DeliveryPolicy, since: datetime | None = None) -> Problems:
    now = timezone.now()
    since = since or now - timedelta(hours=24)
    # A test email that fails has already told the person who sent it: never an alert.
    failed = (
        OutboxMessage.objects.filter(status=Status.FAILED, failed_at__gte=since)
        .exclude(IS_ALERT)
        .exclude(kind=Kind.TEST)
    )
    oldest = OutboxMessage.objects.filter(status=Status.QUEUED).aggregate(Min("created_at"))
    oldest_at = oldest["created_at__min"]
    stuck = oldest_at is not None and now - oldest_at > policy.stuck_after
    noticed = OutboxMessage.objects.filter(created_at__gte=since).exclude(notice="")
    return Problems(
        failed=failed.count(),
        oldest_queued_minutes=int((now - oldest_at).total_seconds() // 60) if stuck else None,
        examples=[
            {"id": m.pk, "to": m.to, "subject": m.subject, "reply": m.last_reply}
            for m in failed.order_by("-failed_at")[:5]
        ],
        suppressed_sign_ins=noticed.count(),
        notices=list(noticed.order_by("-created_at").values_list("notice", flat=True)[:5]),
    )


def check(policy: DeliveryPolicy) -> Problems | None:
    """Raise an alert if there is something to say and it is this worker's turn to say it."""
    problems = current_problems(policy, since=throttle.last_time(ALERT_KEY))
    if not problems.any or not throttle.take_turn(ALERT_KEY, policy.alert_every, asdict(problems)):
        return None
    email_administrators(problems)
    if policy.alert_webhook_url:
        post_webhook(policy.alert_webhook_url, problems)  # never raises
    return problems


def email_administrators(problems: Problems) -> None:
    from postroom.delivery.enqueue import enqueue
    from postroom.delivery.routing import fallback_route

    if fallback_route() is None:
        return
    administrators = administrator_emails()
    if not administrators:
        return
    lines = [problems.summary(), ""]
    for example in problems.examples:
        lines.append(f"- to {example['to']}: {example['subject']}\n  {example['reply']}")
        lines.append(f"  {log_link(reverse('delivery:message', args=[example['id']]))}")
    lines += [f"- {notice}" for notice in problems.notices]
    lines.append("")
    if problems.failed:
        lines.append(f"The failed messages: {log_link(FAILED_QUERY)}")
    if problems.oldest_queued_minutes:
        lines.append(f"The queued messages: {log_link(QUEUED_QUERY)}")
    message = EmailMessage(
        subject=f"[Postroom] {problems.summary()}", body="\n".join(lines), to=administrators
    )
    enqueue(message, kind=Kind.SYSTEM, channel=Channel.FALLBACK)


FAILED_QUERY = "?status=failed&period=24h"
QUEUED_QUERY = "?status=queued"


def log_link(path_or_query: str) -> str:
    """A link into the email log: absolute when POSTROOM_BASE_URL is set, else the path."""
    path = path_or_query
    if path_or_query.startswith("?"):
        path = reverse("delivery:log") + path_or_query
    return configured_base_url() + path


def post_webhook(url: str, problems: Problems) -> bool:
    reason = webhook_url_error(url)
    if reason is not None:  # only http(s): never file:// or another scheme urllib opens
        log.warning("The alert webhook URL cannot be used: %s.", reason)
        return False
    body = json.dumps(
        {
            "event": "postroom.delivery_problems",
            "environment": runtime.environment_name(),
            "summary": problems.summary(),
            **asdict(problems),
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (an administrator's configured URL)
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT):  # noqa: S310
            return True
    except Exception as error:  # an alert that fails must not stop the chore that sends it
        log.warning("The alert webhook could not be reached: %s", webhook_failure(error))
        return False


def webhook_failure(error: BaseException) -> str:
    """Why the POST failed, in words that never quote the URL: it is a secret (a token in its
    path or query), and exception texts (InvalidURL, ValueError, redirects) may hold it."""
    if isinstance(error, urllib.error.HTTPError):
        return f"the server answered HTTP {error.code}"
    if isinstance(error, urllib.error.URLError):
        error = error.reason if isinstance(error.reason, BaseException) else error
    if isinstance(error, TimeoutError):
        return f"no answer within {WEBHOOK_TIMEOUT:g} seconds"
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror} ({type(error).__name__})"
    return type(error).__name__
