"""Delivery's own chores: alerts about failed or stuck mail, and the daily purge of the log.

Registered with the chore scheduler (:mod:`postroom.core.chores`) from DeliveryConfig.ready;
an idle worker runs every registered chore about once a minute.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from postroom.core import chores, throttle
from postroom.delivery import alerts, retention, suppression
from postroom.delivery.policy import current_policy

log = logging.getLogger("postroom.delivery")


def check_alerts() -> None:
    alerts.check(current_policy())


def purge_daily() -> None:
    if throttle.take_turn("purge", timedelta(days=1)):
        purged = retention.purge(current_policy())
        if purged.bodies or purged.messages:
            log.info("Purged %s bodies and %s old messages", purged.bodies, purged.messages)
        suppression.forget_old_soft_bounces()


def register() -> None:
    # Alerts may wait on a webhook (up to its timeout): never in the delivering thread.
    chores.register("delivery-alerts", check_alerts, own_thread=True)
    chores.register("delivery-purge", purge_daily)
