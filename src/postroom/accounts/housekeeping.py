"""Removing what is no longer needed: old rate-limit counts, lockouts and reset links."""

from __future__ import annotations

from datetime import timedelta

from postroom.accounts import limits, lockout, resets
from postroom.delivery import throttle


def forget_old_records() -> None:
    if throttle.take_turn("accounts-forget", timedelta(hours=1)):
        limits.forget_old()
        lockout.forget_old()
        resets.forget_old()
