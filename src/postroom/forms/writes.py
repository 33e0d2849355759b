"""One writer at a time per process on SQLite, queued in order.

SQLite has a single write lock per database. Threads that find it taken sleep in SQLite's
busy handler (up to 100 ms per nap) and, under a burst of submissions, unlucky ones starve
for seconds. Threads of one process queue on a lock here instead, which keeps intake
latency flat; other processes (a separate worker) still meet at SQLite's own lock.
PostgreSQL locks rows, so there this does nothing.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from django.db import connections

_lock = threading.RLock()


@contextlib.contextmanager
def one_writer(using: str = "default") -> Iterator[None]:
    if connections[using].vendor != "sqlite":
        yield
        return
    with _lock:
        yield
