"""``postroom check [--json] [--group G] [--check ID]``: run the health checks.

Exit status 0 when no check failed (warnings allowed), 1 when one did, 2 for bad arguments:
ready for cron, CI and monitoring.
"""

from __future__ import annotations

import json
import logging
import textwrap
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from postroom import runtime
from postroom.health.probe import STEP_LABELS
from postroom.health.registry import GROUPS, all_checks, get_check, group_name, select
from postroom.health.runner import CheckRun, as_json, has_errors, run_checks, summary
from postroom.startup import prepare_database

log = logging.getLogger("postroom.health")
MARKS = {"success": "ok", "info": "info", "warning": "WARN", "error": "FAIL"}


class Command(BaseCommand):
    help = (
        "Run the health checks (SMTP server, delivery, configuration, security). "
        "Exits with status 1 when a check fails, 0 otherwise."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the results as JSON.")
        parser.add_argument(
            "--group", metavar="GROUP", help=f"Run one group only: {', '.join(GROUPS)}."
        )
        parser.add_argument("--check", metavar="ID", help="Run one check only, by its id.")

    def handle(self, *args: Any, **options: Any) -> None:
        checks = all_checks()
        if options["group"]:
            group = group_name(options["group"])
            if group is None:
                raise CommandError(
                    f"There is no group {options['group']!r}; use one of {', '.join(GROUPS)}.",
                    returncode=2,
                )
            checks = select(group=group)
        if options["check"]:
            if get_check(options["check"]) is None:
                known = ", ".join(check.id for check in all_checks())
                raise CommandError(
                    f"There is no check {options['check']!r}; the checks are {known}.",
                    returncode=2,
                )
            checks = [c for c in checks if c.id == options["check"]]
        try:
            prepare_database()  # as sendtest does: a fresh site gets its tables
        except Exception as error:  # the database check says what is wrong
            log.debug("Preparing the database failed: %s", type(error).__name__)
        runs = run_checks(checks)
        if options["json"]:
            self.stdout.write(json.dumps(as_json(runs), indent=2))
        else:
            self.stdout.write(render(runs))
        if has_errors(runs):
            raise SystemExit(1)


def render(runs: list[CheckRun]) -> str:
    site = f"{runtime.site_dir()} ({runtime.environment_name()} environment)"
    lines = [f"Health checks for {site}"]
    group = None
    for run in runs:
        if run.check.group != group:
            group = run.check.group
            lines += ["", group]
        took = (
            f"{run.duration_ms} ms" if run.duration_ms < 1000 else f"{run.duration_ms / 1000:.1f} s"
        )
        lines.append(f"  [{MARKS[run.status]:>4}] {run.check.name} ({run.check.id}, {took})")
        for result in run.results:
            step = f"{STEP_LABELS.get(result.step, result.step)}: " if result.step else ""
            timing = f" ({result.duration_ms} ms)" if result.duration_ms is not None else ""
            lines += _wrap(f"{MARKS[result.status]:<5}{step}{result.message}{timing}", 9, 5)
            if result.fix and result.status in ("warning", "error"):
                lines += _wrap(f"Fix: {result.fix}", 14, 5)
    lines += ["", f"Summary: {summary(runs)}."]
    return "\n".join(lines)


def _wrap(text: str, indent: int, hang: int) -> list[str]:
    first, rest = " " * indent, " " * (indent + hang)
    return textwrap.wrap(text, width=100, initial_indent=first, subsequent_indent=rest) or [first]
