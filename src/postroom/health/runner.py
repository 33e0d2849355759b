"""Running checks: network checks in parallel threads, each bounded; the rest in this thread.

Checks that read the database run in the caller's thread, so that they see the caller's
transaction (tests, and a request's own view of the data).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connections
from django.utils import timezone

from postroom.health import config
from postroom.health.registry import ERROR, STATUSES, SUCCESS, WARNING, Check, Result, worst

log = logging.getLogger("postroom.health")

GRACE_SECONDS = 2.0  # beyond the probe's own bound, before a network check counts as hung


@dataclass(frozen=True)
class CheckRun:
    check: Check
    results: tuple[Result, ...]
    duration_ms: int
    checked_at: datetime = field(default_factory=timezone.now)

    @property
    def status(self) -> str:
        return worst([r.status for r in self.results])

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.check.id,
            "name": self.check.name,
            "group": self.check.group,
            "description": self.check.description,
            "docs": self.check.docs,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "results": [result.as_json() for result in self.results],
        }


def run_check(check: Check) -> CheckRun:
    started = time.monotonic()
    try:
        results = tuple(check.run()) or (Result.success("Nothing to report."),)
    except DatabaseError as error:
        results = (
            Result.error(
                f"Could not read the database ({type(error).__name__}).",
                "Check DATABASE_URL and that the database server runs; the database check says"
                " more.",
            ),
        )
    except Exception as error:  # a broken check must not take the others down
        # Where it failed, but not the exception's text: that might quote a secret.
        log.error(
            "Health check %s failed with %s:\n%s",
            check.id,
            type(error).__name__,
            "".join(traceback.format_tb(error.__traceback__)),
        )
        results = (
            Result.error(
                f"The check itself failed ({type(error).__name__}).",
                "Please report this as a bug in Postroom; the server log says where it failed.",
            ),
        )
    return CheckRun(check, results, _ms_since(started))


def run_checks(checks: Sequence[Check]) -> list[CheckRun]:
    """Run ``checks`` and return their runs in the same order."""
    runs: dict[str, CheckRun] = {}
    threads: list[tuple[Check, threading.Thread, float]] = []
    for check in checks:
        if check.network:
            # Each thread runs in a copy of this context: what the view set (the catcher's
            # port under `serve`) holds inside the checks too.
            thread = threading.Thread(
                target=contextvars.copy_context().run,
                args=(_in_thread, check, runs),
                name=f"health-{check.id}",
                daemon=True,
            )
            thread.start()
            threads.append((check, thread, time.monotonic()))
    for check in checks:
        if not check.network:
            runs[check.id] = run_check(check)
    bound = max(config.timeout_seconds(), config.DNS_TIMEOUT) + GRACE_SECONDS
    for check, thread, started in threads:
        thread.join(max(0.0, started + bound - time.monotonic()))
        if check.id not in runs:
            result = Result.error(
                f"The check did not finish within {bound:g} s.",
                "Please report this as a bug in Postroom: every check has a time limit.",
            )
            runs[check.id] = CheckRun(check, (result,), _ms_since(started))
    return [runs[check.id] for check in checks]


def _in_thread(check: Check, runs: dict[str, CheckRun]) -> None:
    try:
        runs[check.id] = run_check(check)
    finally:
        connections.close_all()  # this thread's own connections, if a check opened one


def overall(runs: Sequence[CheckRun]) -> str:
    return worst([run.status for run in runs])


def counts(runs: Sequence[CheckRun]) -> dict[str, int]:
    found = {status: 0 for status in STATUSES}
    for run in runs:
        found[run.status] += 1
    return found


def has_errors(runs: Sequence[CheckRun]) -> bool:
    return any(run.status == ERROR for run in runs)


def summary(runs: Sequence[CheckRun]) -> str:
    """``2 errors, 1 warning, 8 fine`` (checks, by their worst result)."""
    found = counts(runs)
    parts = []
    for status, word in ((ERROR, "error"), (WARNING, "warning")):
        if found[status]:
            parts.append(f"{found[status]} {word}{'s' if found[status] != 1 else ''}")
    fine = found[SUCCESS] + found["info"]
    parts.append(f"{fine} fine")
    return ", ".join(parts)


def as_json(runs: Sequence[CheckRun]) -> dict[str, Any]:
    return {
        "status": overall(runs),
        "summary": summary(runs),
        "checked_at": timezone.now().isoformat(),
        "checks": [run.as_json() for run in runs],
    }


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
