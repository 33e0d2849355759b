"""Chores an idle worker does now and then: alerts, and the daily purge."""

from __future__ import annotations

import logging
from datetime import timedelta

from postroom.delivery import alerts, retention, throttle
from postroom.delivery.policy import DeliveryPolicy

log = logging.getLogger("postroom.delivery")


def run(policy: DeliveryPolicy) -> None:
    alerts.check(policy)
    if throttle.take_turn("purge", timedelta(days=1)):
        purged = retention.purge(policy)
        if purged.bodies or purged.messages:
            log.info("Purged %s bodies and %s old messages", purged.bodies, purged.messages)
