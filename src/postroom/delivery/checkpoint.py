"""On SQLite, the write-ahead log is copied into the database by a thread of the worker's own.

With SQLite's default, the commit that takes the log past 1,000 pages copies it into the
database and syncs the file, there and then: one outcome in a few hundred waited 5-30 ms, and
on loopback those waits were most of the time spent committing outcomes. The worker's
connections therefore leave it to :class:`Checkpointer`, which runs a PASSIVE checkpoint every
second; a passive checkpoint never blocks writers or readers. Should it fall behind, a
connection still checkpoints by itself once the log reaches ``FALLBACK_PAGES``.
"""

from __future__ import annotations

import logging
import threading

from django.db import connections

from postroom.delivery.models import OutboxMessage

log = logging.getLogger("postroom.delivery")

INTERVAL_SECONDS = 1.0
FALLBACK_PAGES = 20_000  # 80 MB of log with 4 KB pages


class Checkpointer:
    """A thread that checkpoints the SQLite database every second (nothing elsewhere)."""

    def __init__(self, interval: float = INTERVAL_SECONDS) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if connections[OutboxMessage.objects.db].vendor != "sqlite":
            return
        self._thread = threading.Thread(target=self._run, name="checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        connection = connections[OutboxMessage.objects.db]
        failing = False
        try:
            while not self._stop.wait(self.interval):
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except Exception as error:  # the connections' own checkpoints take over
                    if not failing:  # once, not every second
                        log.warning("Could not checkpoint the SQLite log: %s", error)
                    failing = True
                    connection.close()
                else:
                    if failing:
                        log.info("Checkpointing the SQLite log works again")
                    failing = False
        finally:
            connection.close()


def leave_to_thread() -> None:
    """On SQLite, this thread's connection leaves checkpoints to the Checkpointer (up to
    FALLBACK_PAGES). Per connection, and cheap: no I/O."""
    connection = connections[OutboxMessage.objects.db]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES}")
