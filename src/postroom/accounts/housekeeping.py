"""Removing what is no longer needed: old reset links (rate counts are core's chore)."""

from __future__ import annotations

from datetime import timedelta

from postroom.accounts import resets
from postroom.core import throttle


def forget_old_records() -> None:
    if throttle.take_turn("accounts-forget", timedelta(hours=1)):
        resets.forget_old()
