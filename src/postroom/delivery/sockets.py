"""Waiting on a socket with a timeout; poll() has no limit on descriptor numbers, select() does."""

from __future__ import annotations

import select


def wait_for(fd: int, timeout: float, *, readable: bool = True, writable: bool = False) -> int:
    """Block until ``fd`` is readable (or writable, if asked) or ``timeout`` seconds pass.

    Returns the ``select.POLL*`` events that happened, 0 on timeout.
    """
    mask = (select.POLLIN if readable else 0) | (select.POLLOUT if writable else 0)
    poller = select.poll()
    poller.register(fd, mask)
    events = poller.poll(max(timeout, 0.0) * 1000)
    return events[0][1] if events else 0
