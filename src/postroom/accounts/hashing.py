"""At most ``SLOTS`` password checks at once in this process.

A production Argon2 check takes about 0.15 s of CPU and 100 MB of memory; without a cap, a
flood of logins (even each refused in the end) starves every other page. A login that
cannot get a slot within ``WAIT_SECONDS`` is answered "busy" instead of queueing a thread.

One slot, not two: with two checks at once on a two-core host, a flood's first (budgeted)
checks took both cores and /healthz's p99 reached 0.45-0.9 s; with one it stayed under
0.35 s. One slot still checks about six logins a second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

SLOTS = 1
WAIT_SECONDS = 2.0

_slots = threading.BoundedSemaphore(SLOTS)


class Busy(Exception):
    """Every slot stayed taken for ``WAIT_SECONDS``."""


@contextmanager
def password_check_slot(wait_seconds: float | None = None) -> Iterator[None]:
    """Hold one of the process's password-check slots; raises :class:`Busy` on timeout."""
    if not _slots.acquire(timeout=WAIT_SECONDS if wait_seconds is None else wait_seconds):
        raise Busy
    try:
        yield
    finally:
        _slots.release()
