"""Outcomes handed from the relay's threads back to the sessions waiting on the event loop.

``asyncio.wrap_future`` wakes the loop once per future: a write to its wake-up socket, a read,
and a callback, for each message. The writer and the lookup thread finish many requests at
a time, so they hand all of a batch's outcomes over with one wake-up of each loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

# A session's future, and what it is to get: an exception, or else a result.
Outcome = tuple[asyncio.Future[Any], BaseException | None, Any]


def hand_back(outcomes: Iterable[Outcome]) -> None:
    """Settle each future on its own loop: one call into each loop for all of its outcomes."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
    for outcome in outcomes:
        by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
    for loop, mine in by_loop.items():
        if loop.is_closed():  # the relay stopped: nobody waits any more
            continue
        try:
            loop.call_soon_threadsafe(_settle, mine)
        except RuntimeError:  # closed meanwhile
            continue


def _settle(outcomes: list[Outcome]) -> None:
    for waiter, error, result in outcomes:
        if waiter.done():  # cancelled: its session ended meanwhile
            continue
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(result)
