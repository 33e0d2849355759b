"""Waking idle workers when mail is queued: in-process, and across machines on PostgreSQL.

``enqueue`` calls :func:`notify_on_commit` inside the caller's transaction. Workers in the
same process (``postroom serve``) wait on a threading event; workers elsewhere LISTEN on a
PostgreSQL channel, which delivers the NOTIFY only when the transaction commits.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from django.db import connections, transaction

log = logging.getLogger("postroom.delivery")

CHANNEL = "postroom_outbox"
_event = threading.Event()


def notify_on_commit(using: str = "default") -> None:
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])
    transaction.on_commit(_event.set, using=using)


def notify_now() -> None:
    """Wake this process's workers at once (e.g. on shutdown, or after a screen action)."""
    _event.set()


class Waiter:
    """Blocks a worker until mail may be due, or ``timeout`` seconds pass."""

    SLICE = 0.2  # how often the in-process event is looked at while listening

    def __init__(self, database: dict | None = None) -> None:
        """``database``: a Django DATABASES entry; the default database when omitted."""
        self._settings = database or connections["default"].settings_dict
        self._postgres = "postgresql" in self._settings["ENGINE"]
        self._listener = None

    @property
    def idle_seconds(self) -> float:
        """How long an idle worker waits before looking again, if nothing wakes it."""
        return 5.0 if self._listener is not None else 1.0

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        listener = self._listen() if self._postgres else None
        while (remaining := deadline - time.monotonic()) > 0:
            if _event.wait(min(self.SLICE, remaining) if listener else remaining):
                _event.clear()
                return True
            if listener is not None and self._notified(listener, min(self.SLICE, remaining)):
                return True
        return False

    def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                self._listener.close()
            self._listener = None

    def _listen(self):  # noqa: ANN202 (psycopg connection or None)
        if self._listener is not None and not self._listener.closed:
            return self._listener
        import psycopg

        s = self._settings
        try:
            self._listener = psycopg.connect(
                dbname=s["NAME"],
                user=s.get("USER") or None,
                password=s.get("PASSWORD") or None,
                host=s.get("HOST") or None,
                port=s.get("PORT") or None,
                autocommit=True,
                connect_timeout=10,
            )
            self._listener.execute(f"LISTEN {CHANNEL}")
        except Exception as error:  # the worker still polls; say why it is slower
            log.warning("Cannot LISTEN for new mail on PostgreSQL (%s); polling instead", error)
            self._listener = None
        return self._listener

    def _notified(self, listener, timeout: float) -> bool:  # noqa: ANN001
        try:
            for _ in listener.notifies(timeout=timeout, stop_after=1):
                return True
        except Exception:
            self.close()
        return False
