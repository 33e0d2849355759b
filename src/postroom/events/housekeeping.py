"""The events' chores: forget old replay records and unmatched events past their time."""

from __future__ import annotations

import logging
from datetime import timedelta

from postroom.config import current_config
from postroom.core import chores, throttle
from postroom.delivery import recipient_events
from postroom.events import replay

log = logging.getLogger("postroom.events")


def purge() -> None:
    if not throttle.take_turn("events-purge", timedelta(hours=6)):
        return
    replay.purge()
    kept = current_config().events.keep_unmatched_days.value
    purged = recipient_events.purge_unmatched(kept)
    if purged:
        log.info("Purged %s unmatched provider events older than %s days", purged, kept)


def register() -> None:
    chores.register("events-purge", purge)
