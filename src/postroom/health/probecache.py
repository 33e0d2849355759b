"""Probe results kept briefly (60 s after success, 15 s after failure), and one probe at a time
per settings: concurrent callers with the same settings wait for the probe in flight."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from postroom.health.registry import ERROR, Result

SUCCESS_TTL = 60.0
FAILURE_TTL = 15.0


@dataclass(frozen=True)
class Probed:
    results: tuple[Result, ...]
    at: float  # time.time() when the probe finished
    cached: bool = False

    @property
    def failed(self) -> bool:
        return any(result.status == ERROR for result in self.results)


class ProbeCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._done: dict[str, tuple[float, Probed]] = {}  # key -> (expires at, outcome)
        self._running: dict[str, Future[Probed]] = {}

    def get(
        self, key: str, probe: Callable[[], list[Result]], wait: float, use_cache: bool = True
    ) -> Probed:
        """The cached outcome for ``key``, the one in flight, or a new probe's.

        ``wait`` bounds how long a caller waits for a probe another thread runs.
        """
        with self._lock:
            now = self._clock()
            if use_cache and key in self._done:
                expires, outcome = self._done[key]
                if now < expires:
                    return Probed(outcome.results, outcome.at, cached=True)
                del self._done[key]
            future = self._running.get(key)
            owner = future is None
            if future is None:
                future = Future()
                self._running[key] = future
        if not owner:
            return future.result(timeout=wait)
        try:
            outcome = Probed(tuple(probe()), time.time())
        except BaseException as error:
            with self._lock:
                self._running.pop(key, None)
            future.set_exception(error)
            raise
        with self._lock:
            ttl = FAILURE_TTL if outcome.failed else SUCCESS_TTL
            self._done[key] = (self._clock() + ttl, outcome)
            self._running.pop(key, None)
        future.set_result(outcome)
        return outcome

    def clear(self) -> None:
        with self._lock:
            self._done.clear()


cache = ProbeCache()
