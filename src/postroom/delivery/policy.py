"""The delivery policy: retry limit, rate limit, retention and alert thresholds.

Read from the same sources as the SMTP settings (section ``Postroom:Delivery`` and
``Postroom:Alerts``; e.g. ``Postroom__Delivery__GiveUpAfterHours`` in the environment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from postroom.config import current_config
from postroom.delivery.retry import RetrySchedule


@dataclass(frozen=True)
class DeliveryPolicy:
    give_up_after: timedelta = timedelta(hours=72)  # as mail servers do
    messages_per_second: int = 0  # 0: no limit
    keep_sent_bodies: timedelta = timedelta(days=30)
    keep_log: timedelta = timedelta(days=365)
    stuck_after: timedelta = timedelta(minutes=30)
    alert_every: timedelta = timedelta(hours=1)
    retry: RetrySchedule = field(default_factory=RetrySchedule)
    # Validated when read. A secret: kept out of repr, never logged or shown.
    alert_webhook_url: str | None = field(default=None, repr=False)


def current_policy() -> DeliveryPolicy:
    """The policy of the current configuration; invalid values are configuration problems
    (``postroom config show``) and their defaults apply until they are fixed."""
    config = current_config()
    delivery, alerts = config.delivery, config.alerts
    webhook = alerts.webhook_url.value
    return DeliveryPolicy(
        give_up_after=timedelta(hours=delivery.give_up_after_hours.value),
        messages_per_second=delivery.messages_per_second.value,
        keep_sent_bodies=timedelta(days=delivery.keep_sent_bodies_days.value),
        keep_log=timedelta(days=delivery.keep_log_days.value),
        stuck_after=timedelta(minutes=alerts.stuck_after_minutes.value),
        alert_every=timedelta(minutes=alerts.every_minutes.value),
        retry=RetrySchedule(
            first_delay=timedelta(seconds=delivery.retry_first_delay_seconds.value),
            factor=float(delivery.retry_backoff_factor.value),
            longest_delay=timedelta(minutes=delivery.retry_max_delay_minutes.value),
        ),
        alert_webhook_url=webhook.reveal() if webhook else None,
    )
