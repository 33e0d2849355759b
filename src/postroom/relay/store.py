"""Durable intake: the relay's messages are written to the outbox, many per commit.

A relay may answer ``250`` only once its message is on disk, and a disk sync costs
milliseconds. One thread writes for every session: it takes whatever messages are waiting
(up to ``BATCH_MESSAGES`` and ``BATCH_BYTES``), enqueues them with one INSERT and commits
once, so eight sessions pay for one sync between them instead of eight (group commit, as
PostgreSQL does for concurrent commits). Each session hears about its own message only after
that commit: the result, or the error that makes it answer ``451``.

On SQLite the commit is synced with ``PRAGMA synchronous=FULL`` on this connection: the rest
of Postroom runs at ``NORMAL`` (in WAL mode a crash can lose its last commits, but never
corrupts), which is not enough for a message a client has been told is safe.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from email.message import Message
from typing import IO, Any

from django.db import connection

from postroom.delivery.enqueue import RawMail, enqueue_raw_many
from postroom.delivery.models import Kind
from postroom.relay.handback import hand_back

logger = logging.getLogger(__name__)

BATCH_MESSAGES = 200  # messages in one transaction, at most
BATCH_BYTES = 16 * 1024 * 1024  # and their bytes: a batch is held in memory while written


@dataclass
class Incoming:
    """A message waiting for its commit: ``received`` is the Received: line put before it;
    ``headers`` its parsed header block, when the session parsed it already."""

    received: bytes
    content: IO[bytes]
    size: int
    sender: str
    recipients: list[str]
    application: Any
    headers: Message | None = None
    done: Future[int] = field(default_factory=Future)
    # A session's future on its event loop, settled too: a batch's with one wake-up of the loop.
    waiter: asyncio.Future[int] | None = None


class Committer:
    """The one writer thread; :meth:`submit` hands it a message, and the future says when it
    is committed (its outbox id) or why not."""

    def __init__(self) -> None:
        self._waiting: queue.SimpleQueue[Incoming | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="relay-commit", daemon=True)
        self._held: Incoming | None = None  # the first of the next batch, taken too many
        self._synced: object = None  # the SQLite connection already set to synchronous=FULL
        self._thread.start()

    def submit(self, message: Incoming) -> Future[int]:
        self._waiting.put(message)
        return message.done

    def close(self) -> None:
        """Commit what was handed over, then end the thread."""
        self._waiting.put(None)
        self._thread.join()

    def _run(self) -> None:
        try:
            while True:
                batch = self._next_batch()
                if not batch:
                    return
                self._write(batch)
        finally:
            connection.close()

    def _next_batch(self) -> list[Incoming]:
        first = self._held or self._waiting.get()
        self._held = None
        if first is None:
            return []
        batch, size = [first], first.size
        while len(batch) < BATCH_MESSAGES and size < BATCH_BYTES:
            try:
                more = self._waiting.get_nowait()
            except queue.Empty:
                break
            if more is None:
                self._waiting.put(None)  # stop after this batch
                break
            if size + more.size > BATCH_BYTES:
                self._held = more
                break
            batch.append(more)
            size += more.size
        return batch

    def _write(self, batch: list[Incoming]) -> None:
        started = time.perf_counter()
        try:
            ids = self._commit(batch)
        except Exception as error:
            connection.close()  # a broken connection is opened anew for the next batch
            if len(batch) == 1:
                logger.warning("The relay could not store a message: %s", _describe(error))
                batch[0].done.set_exception(error)
                if batch[0].waiter is not None:
                    hand_back([(batch[0].waiter, error, None)])
                return
            # One message's fault must not cost the others theirs: each on its own.
            for message in batch:
                self._write([message])
            return
        if logger.isEnabledFor(logging.DEBUG):
            elapsed = (time.perf_counter() - started) * 1000
            logger.debug("The relay committed %d message(s) in %.1f ms", len(batch), elapsed)
        waiting = []
        for message, pk in zip(batch, ids, strict=True):
            message.done.set_result(pk)
            if message.waiter is not None:
                waiting.append((message.waiter, None, pk))
        hand_back(waiting)

    def _commit(self, batch: list[Incoming]) -> list[int]:
        """One INSERT for the batch, one synced commit."""
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            if connection.connection is not self._synced:  # once for each new connection
                with connection.cursor() as cursor:  # outside a transaction: SQLite requires it
                    cursor.execute("PRAGMA synchronous=FULL")
                self._synced = connection.connection
        items = []
        for message in batch:
            message.content.seek(0)
            items.append(
                RawMail(
                    message.received + message.content.read(),
                    message.sender,
                    message.recipients,
                    kind=Kind.RELAY,
                    application=message.application,
                    headers=message.headers,
                )
            )
        return [row.pk for row in enqueue_raw_many(items)]


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}"
