"""The reads the relay makes for every message, in one thread that keeps its database connection.

Each MAIL FROM reads the session's application again, so that a disabled application or a
replaced secret stops at the next message. Opening a database connection costs far more than
that read (on SQLite a file to open and Django's functions to register), so these reads share
one thread whose connection stays open until the relay stops; a read that fails closes it,
and the next read opens a new one (the database may have restarted meanwhile). The thread
takes every read waiting and hands their answers back together (:mod:`.handback`).

The connection is checked before each batch (the database may have dropped it while the relay
sat idle), and a session waits at most ``LOOKUP_TIMEOUT`` seconds for its answer: one read
stuck on a lock must not hold every session's MAIL FROM, nor the relay's stop, for ever.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import DatabaseError, InterfaceError, connection

from postroom.relay.handback import Outcome, hand_back

Request = tuple[asyncio.Future[Any], Callable[..., Any], tuple[Any, ...]]

logger = logging.getLogger(__name__)

LOOKUP_TIMEOUT = 10.0  # seconds a session waits for a read; then its command answers 451


class Lookups:
    """``await lookups.run(function, *args)`` calls a function that reads the database in the
    lookup thread, from a session on an event loop."""

    def __init__(self) -> None:
        self._waiting: queue.SimpleQueue[Request | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="relay-lookup", daemon=True)
        self._thread.start()

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        answer = asyncio.get_running_loop().create_future()
        self._waiting.put((answer, function, args))
        try:
            return await asyncio.wait_for(answer, LOOKUP_TIMEOUT)
        except TimeoutError:
            raise LookupTimeout(
                f"the database did not answer the relay's check within {LOOKUP_TIMEOUT:.0f} s"
            ) from None

    def close(self) -> None:
        """Answer the reads handed over, then close the thread's connection and end it."""
        self._waiting.put(None)
        self._thread.join(LOOKUP_TIMEOUT)

    def _serve(self) -> None:
        try:
            while True:
                requests = [self._waiting.get()]
                while requests[-1] is not None:
                    try:
                        requests.append(self._waiting.get_nowait())
                    except queue.Empty:
                        break
                # Django checks a kept connection only when told to: a PostgreSQL restart or an
                # idle timeout would otherwise fail the next read, as requests and the catcher
                # avoid the same way.
                connection.health_check_done = False
                asked = [request for request in requests if request is not None]
                try:
                    outcomes = list(_answer_each(asked))
                except Exception as error:  # a fault of this thread: the sessions hear of it
                    logger.exception("The relay's lookup thread failed a batch of reads")
                    outcomes = [(answer, error, None) for answer, _, _ in asked]
                hand_back(outcomes)
                if requests[-1] is None:
                    return
        finally:
            connection.close()


def _answer_each(requests: Iterable[Request]) -> Iterator[Outcome]:
    """Each request's outcome; the same read asked by several sessions at once (every session
    of one application re-checks it at each message) is made once for all of them."""
    made: dict[tuple, tuple[BaseException | None, Any]] = {}
    for request in requests:
        answer, function, args = request
        try:
            key: tuple | None = (function, *args)
            earlier = made.get(key)  # type: ignore[arg-type]
        except TypeError:  # an argument that cannot be compared as a key: read it alone
            key, earlier = None, None
        if earlier is None:
            _, error, result = _answer(request)
            earlier = (error, result)
            if key is not None:
                made[key] = earlier
        yield answer, *earlier


def _answer(request: Request) -> Outcome:
    answer, function, args = request
    try:
        return answer, None, function(*args)
    except (DatabaseError, InterfaceError):
        connection.close()  # a connection broken behind Django's back: read once more anew
    except Exception as error:
        connection.close()
        return answer, error, None
    try:
        return answer, None, function(*args)
    except Exception as error:
        connection.close()  # perhaps broken: the next read opens a new one
        return answer, error, None


class LookupTimeout(Exception):
    """The lookup thread did not answer in time (a lock, or a database that stopped answering)."""
