"""The delivery policy: retry limit, rate limit, retention and alert thresholds.

Read from the same sources as the SMTP settings (section ``Postroom:Delivery`` and
``Postroom:Alerts``; e.g. ``Postroom__Delivery__GiveUpAfterHours`` in the environment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from postroom import redact
from postroom.mailsettings import read_int, read_setting


@dataclass(frozen=True)
class DeliveryPolicy:
    give_up_after: timedelta = timedelta(hours=72)  # as mail servers do
    messages_per_second: int = 0  # 0: no limit
    keep_sent_bodies: timedelta = timedelta(days=30)
    keep_log: timedelta = timedelta(days=365)
    stuck_after: timedelta = timedelta(minutes=30)
    alert_every: timedelta = timedelta(hours=1)
    alert_webhook_url: str | None = None


def current_policy() -> DeliveryPolicy:
    def number(key: str, default: int, low: int = 0) -> int:
        return int(read_int(key, default, low=low)[0].value)

    webhook = read_setting("Postroom:Alerts:WebhookUrl").value
    redact.remember(str(webhook) if webhook else None)  # the URL is the credential
    return DeliveryPolicy(
        give_up_after=timedelta(hours=number("Postroom:Delivery:GiveUpAfterHours", 72, 1)),
        messages_per_second=number("Postroom:Delivery:MessagesPerSecond", 0),
        keep_sent_bodies=timedelta(days=number("Postroom:Delivery:KeepSentBodiesDays", 30, 1)),
        keep_log=timedelta(days=number("Postroom:Delivery:KeepLogDays", 365, 1)),
        stuck_after=timedelta(minutes=number("Postroom:Alerts:StuckAfterMinutes", 30, 1)),
        alert_every=timedelta(minutes=number("Postroom:Alerts:EveryMinutes", 60, 1)),
        alert_webhook_url=str(webhook) if webhook else None,
    )
