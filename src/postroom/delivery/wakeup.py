"""Waking idle workers when mail is queued: in-process, across processes and machines.

``enqueue`` calls :func:`notify_on_commit` inside the caller's transaction. Workers in the
same process (``postroom serve``) wait on a threading event; workers elsewhere LISTEN on a
PostgreSQL channel, which delivers the NOTIFY only when the transaction commits. On SQLite,
another process's worker watches ``PRAGMA data_version``, which changes whenever another
connection commits to the database file: a cheap look that reads no table.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time

from django.db import connections, transaction

from postroom.delivery.sockets import wait_for

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

    SLICE = 0.05  # while listening or watching, each source is looked at this often

    def __init__(self, database: dict | None = None) -> None:
        """``database``: a Django DATABASES entry; the default database when omitted."""
        self._settings = database or connections["default"].settings_dict
        self._postgres = "postgresql" in self._settings["ENGINE"]
        self._listener = None
        self._watcher: sqlite3.Connection | None = None
        self._data_version: int | None = None

    @property
    def idle_seconds(self) -> float:
        """How long an idle worker waits before looking again, if nothing wakes it."""
        return 5.0 if self._listener is not None or self._watcher is not None else 1.0

    def wait(self, timeout: float) -> bool:
        """True when woken; also at once when it just began to listen or watch, so that the
        caller looks again for mail queued before then."""
        deadline = time.monotonic() + timeout
        was_listening = self._listener is not None or self._watcher is not None
        listener = self._listen() if self._postgres else None
        watcher = None if self._postgres else self._watch()
        if not was_listening and (listener is not None or watcher is not None):
            _event.clear()  # the caller looks again: that covers in-process wake-ups too
            return True
        while (remaining := deadline - time.monotonic()) > 0:
            polling = listener is not None or watcher is not None
            slice_ = min(self.SLICE, remaining) if polling else remaining
            if listener is not None:
                woken = self._notified(listener, slice_) or _event.is_set()
                listener = self._listener  # None once the connection failed: no busy loop
            else:
                woken = _event.wait(slice_) or (watcher is not None and self._changed(watcher))
            if woken:
                _event.clear()
                return True
        return False

    def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                self._listener.close()
            self._listener = None
        if self._watcher is not None:
            with contextlib.suppress(Exception):
                self._watcher.close()
            self._watcher = None

    def _watch(self) -> sqlite3.Connection | None:
        """A connection of its own to the SQLite file: data_version ignores its own commits."""
        if self._watcher is not None:
            return self._watcher
        name = str(self._settings.get("NAME") or "")
        if not name or name == ":memory:" or name.startswith("file:"):
            return None  # an in-memory database has no other process to hear from
        try:
            self._watcher = sqlite3.connect(name, timeout=5.0, check_same_thread=False)
            self._data_version = self._version(self._watcher)
        except sqlite3.Error as error:
            log.warning("Cannot watch %s for new mail (%s); polling instead", name, error)
            self._watcher = None
        return self._watcher

    def _changed(self, watcher: sqlite3.Connection) -> bool:
        try:
            version = self._version(watcher)
        except sqlite3.Error:
            self.close()
            return False
        changed, self._data_version = version != self._data_version, version
        return changed

    @staticmethod
    def _version(watcher: sqlite3.Connection) -> int:
        return int(watcher.execute("PRAGMA data_version").fetchone()[0])

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
        """Wait on the listener's socket (cheap while idle), then take what arrived."""
        try:
            if not wait_for(listener.fileno(), timeout):
                return False
            for _ in listener.notifies(timeout=0.0, stop_after=1):
                return True
        except Exception:
            self.close()
        return False
