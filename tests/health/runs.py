"""Running one health check in a test, and reading what it found."""

from __future__ import annotations

from postroom.health.registry import Result, get_check
from postroom.health.runner import CheckRun, run_check


def results(check_id: str) -> tuple[str, tuple[Result, ...]]:
    """The check's overall status and its results, in order."""
    run = run_check(get_check(check_id))
    return run.status, run.results


def run_by_step(check_id: str) -> tuple[CheckRun, dict[str, Result]]:
    """The whole run, and its results by the step each is about."""
    run = run_check(get_check(check_id))
    return run, {result.step: result for result in run.results}
