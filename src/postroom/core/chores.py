"""Chores: work done now and then (alerts, purges, the health report), registered by apps.

Apps register theirs from ``AppConfig.ready``; whoever runs chores (an idle delivery worker,
about once a minute) calls :func:`run_all`, so that the scheduler knows no app. Each chore
decides itself whether it is due (usually with :func:`postroom.core.throttle.take_turn`).

- Each chore is isolated: one that raises is logged, and the others still run.
- A chore that may take long (it talks to the outside world) is registered with
  ``own_thread=True``: it then runs in a thread of its own, one run at a time, so it never
  holds up the caller (e.g. delivery).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections

log = logging.getLogger("postroom.chores")


@dataclass(frozen=True)
class Chore:
    name: str
    function: Callable[[], None]
    own_thread: bool = False


_chores: dict[str, Chore] = {}
_threads: dict[str, threading.Thread] = {}
_lock = threading.Lock()


def register(name: str, function: Callable[[], None], own_thread: bool = False) -> None:
    """Add a chore (again under the same name: replaced). It must be bounded in time."""
    with _lock:
        _chores[name] = Chore(name, function, own_thread)


def registered() -> list[Chore]:
    with _lock:
        return list(_chores.values())


def run_all(inline: bool = False) -> None:
    """Run every chore once; ``inline`` runs even own-thread chores here (commands, tests)."""
    for chore in registered():
        if chore.own_thread and not inline:
            _start_thread(chore)
        else:
            _run(chore)


def _run(chore: Chore) -> bool:
    try:
        chore.function()
    except Exception:
        log.exception("The chore %r failed; the other chores still run", chore.name)
        return False
    return True


def _start_thread(chore: Chore) -> None:
    with _lock:
        running = _threads.get(chore.name)
        if running is not None and running.is_alive():
            return  # the last run is not over: never two at once
        thread = threading.Thread(
            target=_run_in_thread, args=(chore,), name=f"postroom-chore-{chore.name}", daemon=True
        )
        _threads[chore.name] = thread
    thread.start()


def _run_in_thread(chore: Chore) -> None:
    try:
        _run(chore)
    finally:
        connections.close_all()  # this thread's own connections


def wait_for_threads(timeout: float) -> bool:
    """Wait for chores running in their own threads; True when all have finished."""
    with _lock:
        threads = list(_threads.values())
    for thread in threads:
        thread.join(timeout)
    return not any(thread.is_alive() for thread in threads)
