"""Chores an idle worker does now and then: alerts, the daily purge, and what apps register.

Other apps add theirs with :func:`register` (from ``AppConfig.ready``), so that delivery
never imports them: e.g. the health app's scheduled report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from postroom.delivery import alerts, retention, throttle
from postroom.delivery.policy import DeliveryPolicy

log = logging.getLogger("postroom.delivery")

_chores: list[Callable[[], None]] = []


def register(chore: Callable[[], None]) -> None:
    """Run ``chore()`` about once a minute in an idle worker; it must be quick and bounded."""
    if chore not in _chores:
        _chores.append(chore)


def run(policy: DeliveryPolicy) -> None:
    alerts.check(policy)
    if throttle.take_turn("purge", timedelta(days=1)):
        purged = retention.purge(policy)
        if purged.bodies or purged.messages:
            log.info("Purged %s bodies and %s old messages", purged.bodies, purged.messages)
    for chore in _chores:
        try:
            chore()
        except Exception:
            log.exception("A housekeeping chore failed: %s", getattr(chore, "__name__", chore))
