"""An event loop for waitress whose turns cost time per event, not per open connection.

Waitress's own ``poll()`` loop asks every open connection, on every turn, whether it wants to
read or write, and builds a new poll set from the answers. With thousands of idle or slowloris
connections each turn takes milliseconds of Python, holding the GIL that the request threads
need: /healthz p99 was about half a second under 5,000 idle + 500 slowloris connections
(bench/webserver.py). This loop keeps one epoll set and asks again only

- the connections that had an event on the last turn, new connections and the listeners;
- the busy connections (a request in a thread, output waiting, closing) after the trigger
  fired: waitress pulls it when a request thread has finished or has output;
- every connection at least every ``FULL_REFRESH_SECONDS`` (waitress's maintenance marks
  connections for closing without an event).

The handling of each event is waitress's own (``wasyncore.readwrite``).
"""

from __future__ import annotations

import contextlib
import select
import time
from typing import Any

from waitress import wasyncore

FULL_REFRESH_SECONDS = 1.0
_READ = select.POLLIN | select.POLLPRI
_WRITE = select.POLLOUT


def available() -> bool:
    return hasattr(select, "epoll")


class EpollLoop:
    """Drives the dispatchers of one waitress socket map."""

    def __init__(self, socket_map: dict[int, Any], always: list[Any]) -> None:
        """``always``: dispatchers asked on every turn (the listeners: their ``readable()``
        runs waitress's maintenance and applies the connection limit)."""
        self._map = socket_map
        self._always = always
        self._epoll = select.epoll()
        self._known: dict[int, tuple[Any, int]] = {}  # fd -> (dispatcher, flags asked for)
        self._dirty: set[int] = set()  # had an event on the last turn
        self._busy: set[int] = set()  # requests in a thread, output waiting, or closing
        self._triggered = False
        self._accepted = False
        self._next_full = 0.0

    def close(self) -> None:
        self._epoll.close()

    def refresh_all(self) -> None:
        self._next_full = 0.0

    def turn(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for events and handle them."""
        now = time.monotonic()
        if now >= self._next_full:
            self._next_full = now + FULL_REFRESH_SECONDS
            for fd in self._known.keys() - self._map.keys():
                self._forget(fd)
            candidates = set(self._map)
        else:
            candidates = self._dirty
            if self._triggered:  # a request thread changed one of the busy connections
                candidates |= self._busy
            if self._accepted:
                candidates |= self._map.keys() - self._known.keys()
            candidates.update(listener._fileno for listener in self._always if listener.socket)
        self._dirty, self._triggered, self._accepted = set(), False, False
        for fd in candidates:
            self._update(fd)
        wait = max(0.0, min(timeout, self._next_full - time.monotonic()))
        try:
            events = self._epoll.poll(wait)
        except InterruptedError:
            return
        for fd, flags in events:
            dispatcher = self._map.get(fd)
            if dispatcher is None:
                continue
            wasyncore.readwrite(dispatcher, flags)
            self._dirty.add(fd)
            if getattr(dispatcher, "_postroom_trigger", False):
                self._triggered = True
            elif getattr(dispatcher, "accepting", False):
                self._accepted = True

    def _update(self, fd: int) -> None:
        dispatcher = self._map.get(fd)
        if dispatcher is None:
            self._forget(fd)
            return
        flags = 0
        if dispatcher.readable():
            flags |= _READ
        if dispatcher.writable() and not dispatcher.accepting:
            flags |= _WRITE
        if flags != _READ or getattr(dispatcher, "requests", None):
            self._busy.add(fd)
        else:
            self._busy.discard(fd)
        known = self._known.get(fd)
        same = known is not None and known[0] is dispatcher
        if same and known[1] == flags:
            return
        if not same and known is not None:
            self._forget(fd)  # the descriptor number was reused by a new connection
            known = None
        registered = known is not None and known[1] != 0
        if flags and registered:
            try:
                self._epoll.modify(fd, flags)
            except FileNotFoundError:
                self._epoll.register(fd, flags)
        elif flags:
            try:
                self._epoll.register(fd, flags)
            except FileExistsError:
                self._epoll.modify(fd, flags)
        elif registered:
            with contextlib.suppress(OSError):
                self._epoll.unregister(fd)
        self._known[fd] = (dispatcher, flags)

    def _forget(self, fd: int) -> None:
        self._busy.discard(fd)
        known = self._known.pop(fd, None)
        if known is not None and known[1]:
            # A closed socket has left the epoll set by itself; a reused number must not stay.
            with contextlib.suppress(OSError, ValueError):
                self._epoll.unregister(fd)
