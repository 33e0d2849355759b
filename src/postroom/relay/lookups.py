"""The reads the relay makes for every message, in one thread that keeps its database connection.

Each MAIL FROM reads the session's application again, so that a disabled application or a
replaced secret stops at the next message. Opening a database connection costs far more than
that read (on SQLite a file to open and Django's functions to register), so these reads share
one thread whose connection stays open until the relay stops; a read that fails closes it,
and the next read opens a new one (the database may have restarted meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import connection


class Lookups:
    """:meth:`run` calls a function that reads the database in the lookup thread."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-lookup")

    def run(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        return self._executor.submit(_reading, function, *args)

    def close(self) -> None:
        """Let the reads handed over finish, then close the thread's connection."""
        self._executor.submit(connection.close)
        self._executor.shutdown(wait=True)


def _reading(function: Callable[..., Any], *args: Any) -> Any:
    try:
        return function(*args)
    except BaseException:
        connection.close()  # perhaps broken: the next read opens a new one
        raise
