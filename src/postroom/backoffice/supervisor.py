"""Keeps the parts of `postroom serve` running: one part's failure never stops the others.

Each part (web, worker, catcher) runs in its own thread as ``run(stop)``, a function that
returns only once ``stop`` is set. A part whose function returns early or raises is restarted
after a pause that doubles from ``FIRST_BACKOFF`` to ``MAX_BACKOFF`` seconds (and starts again
from the first once the part has run ``HEALTHY_AFTER`` seconds), with one log line naming the
part and the reason. :meth:`Supervisor.status` is what /healthz and the dashboard show.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from postroom import redact

log = logging.getLogger("postroom.serve")

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0
HEALTHY_AFTER = 60.0
ERROR_TEXT_LIMIT = 200

RUNNING = "running"
RESTARTING = "restarting"
STOPPED = "stopped"


@dataclass(frozen=True)
class Part:
    """One part of serve: its name and the function that runs it until ``stop`` is set."""

    name: str
    run: Callable[[threading.Event], None]


@dataclass
class PartStatus:
    state: str = RUNNING
    restarts: int = 0
    last_error: str | None = None
    started_at: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, object]:
        return {"state": self.state, "restarts": self.restarts, "last_error": self.last_error}


def describe_failure(error: BaseException | None) -> str:
    """One line for the log and /healthz: the kind of error and the start of its message.

    Exception texts in Postroom never hold secrets (a house rule), and anything shaped like one
    is masked all the same; the length is bounded. Anonymous callers of /healthz see only the
    kind (views.healthz).
    """
    if error is None:
        return "it stopped by itself"
    text = redact.scrub(" ".join(str(error).split()))  # for the log and administrators
    if len(text) > ERROR_TEXT_LIMIT:
        text = text[: ERROR_TEXT_LIMIT - 1] + "…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class Supervisor:
    """Runs parts in threads and restarts those that die, until :meth:`stop`."""

    def __init__(
        self,
        parts: list[Part],
        first_backoff: float = FIRST_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
        healthy_after: float = HEALTHY_AFTER,
    ) -> None:
        self.parts = parts
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.healthy_after = healthy_after
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._status = {part.name: PartStatus() for part in parts}
        self._threads: dict[str, threading.Thread] = {}

    def start(self) -> None:
        for part in self.parts:
            thread = threading.Thread(
                target=self._keep_running, args=(part,), name=f"postroom-{part.name}", daemon=True
            )
            self._threads[part.name] = thread
            thread.start()

    def stop(self, timeout: float = 60.0) -> list[str]:
        """Ask every part to stop and wait for them; returns the names of parts still running."""
        self.stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads.values():
            thread.join(max(0.0, deadline - time.monotonic()))
        return [name for name, thread in self._threads.items() if thread.is_alive()]

    def status(self) -> dict[str, dict[str, object]]:
        """Each part's state (running/restarting/stopped), restart count and last error."""
        with self._lock:
            return {name: status.as_dict() for name, status in self._status.items()}

    def restarting(self) -> list[str]:
        return [name for name, part in self.status().items() if part["state"] == RESTARTING]

    def _keep_running(self, part: Part) -> None:
        backoff = self.first_backoff
        while not self.stopping.is_set():
            self._update(part.name, state=RUNNING, started_at=time.monotonic())
            error: BaseException | None = None
            try:
                part.run(self.stopping)
            except Exception as caught:  # a part's failure is reported, never propagated
                error = caught
            if self.stopping.is_set():
                break
            with self._lock:
                status = self._status[part.name]
                if time.monotonic() - status.started_at >= self.healthy_after:
                    backoff = self.first_backoff
                status.state = RESTARTING
                status.restarts += 1
                status.last_error = describe_failure(error)
                restarts = status.restarts
            log.error(
                "The %s stopped (%s); restarting it in %g s (restart %d).",
                part.name,
                describe_failure(error),
                backoff,
                restarts,
            )
            log.debug("The %s failed with", part.name, exc_info=error)
            if self.stopping.wait(backoff):
                break
            backoff = min(backoff * 2, self.max_backoff)
        self._update(part.name, state=STOPPED)

    def _update(self, name: str, **changes: object) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._status[name], key, value)


_current: Supervisor | None = None


def install(supervisor: Supervisor | None) -> None:
    """Make ``supervisor`` the one /healthz and the dashboard report on (None: no parts)."""
    global _current
    _current = supervisor


def current() -> Supervisor | None:
    """The supervisor of this process's `serve`, or None when the web runs alone."""
    return _current
