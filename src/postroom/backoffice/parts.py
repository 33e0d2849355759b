"""The parts of `postroom serve`, each a ``run(stop)`` function for the supervisor.

Each part is given what it needs (addresses, ports) here; none reads them back from a setting
that another part changed. The web server and the catcher are started once by `serve` itself,
so that a port in use is reported before anything runs; a restart starts them anew.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from typing import Any

from postroom.backoffice.supervisor import Part
from postroom.backoffice.webserver import create_web_server, serve_until
from postroom.core.requests import INBOX_PORT_ENVIRON
from postroom.delivery import worker

CATCHER_CHECK_SECONDS = 1.0
# Seconds a thread keeps the interpreter lock while others wait for it (Python's default is
# 0.005). The parts share one process: while a page renders, the catcher's event loop and
# store threads waited up to 5 ms for each step of each message, and accepted 59 msg/s instead
# of 105 at 50,000 caught messages. At 0.5 ms alone it kept 98 msg/s and pages still took under
# 100 ms (bench/inbox.py); more handovers cost the page threads little. With the cheaper
# stores since, 135-240 msg/s.
SWITCH_INTERVAL = 0.0005


def share_interpreter() -> None:
    """Let the parts of one process take turns often (see SWITCH_INTERVAL); `serve` calls it."""
    sys.setswitchinterval(SWITCH_INTERVAL)


class CatcherStopped(RuntimeError):
    """The catcher's event loop ended while `serve` was still running."""


def web_part(host: str, port: int, server: Any, inbox_port: int | None = None) -> Part:
    """Serve the backoffice with ``server``; after a failure, with a new one on the same port."""
    started = [server]

    def run(stop: threading.Event) -> None:
        current = started.pop() if started else create_web_server(host, port, environ=environ)
        serve_until(current, stop)

    environ = {INBOX_PORT_ENVIRON: inbox_port} if inbox_port is not None else None
    return Part("web", run)


def worker_part(inbox_port: int | None = None) -> Part:
    """The delivery worker, sending to this process's catcher when mail goes to the inbox."""

    def run(stop: threading.Event) -> None:
        worker.run(stop, inbox_port=inbox_port)

    return Part("worker", run)


def _watched_part(name: str, server: Any, start: Callable[[], Any]) -> Part:
    """Watch a running SMTP server (``alive``); after a failure, ``start()`` a new one."""
    started = [server]

    def run(stop: threading.Event) -> None:
        current = started.pop() if started else start()
        try:
            while not stop.wait(CATCHER_CHECK_SECONDS):
                if not current.alive:
                    raise CatcherStopped(f"the {name}'s event loop ended")
        finally:
            # A server whose loop died may fail to stop cleanly; its socket closes either way.
            with contextlib.suppress(Exception):
                current.stop()

    return Part(name, run)


def catcher_part(host: str, port: int, server: Any) -> Part:
    """Watch the running catcher; after a failure, start a new one on the same port."""
    from postroom.inbox.server import start_inbox

    return _watched_part("catcher", server, lambda: start_inbox(host, port))


def relay_part(host: str, port: int | None, tls_port: int | None, server: Any) -> Part:
    """Watch the running relay; after a failure, start a new one on the same ports."""
    from postroom.relay.service import start_relay

    return _watched_part("relay", server, lambda: start_relay(host, port, tls_port))
