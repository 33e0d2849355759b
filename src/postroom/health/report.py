"""The scheduled health report: every ``Postroom:HealthReport:PeriodHours``, by email.

A chore (registered in HealthConfig.ready) that idle workers start about once a minute, in a
thread of its own so that its SMTP probe never holds up delivery; ``throttle.take_turn`` lets
exactly one of them send per period.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.core.mail import EmailMessage
from django.utils import timezone

from postroom import runtime
from postroom.core import throttle
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import Kind, OutboxMessage
from postroom.health.config import DETAILED, ReportConfig, report_config
from postroom.health.registry import ERROR, WARNING, all_checks
from postroom.health.runner import CheckRun, run_checks, summary

log = logging.getLogger("postroom.health")

THROTTLE_KEY = "health-report"
_MARK = {"success": "ok", "info": "info", "warning": "WARNING", "error": "ERROR"}


def chore() -> None:
    """What the chore scheduler runs: send the report if it is due."""
    send_report_if_due()


def send_report_if_due() -> OutboxMessage | None:
    """Run the checks and queue the report when it is due."""
    config = report_config()
    if not config.enabled:
        return None
    if not throttle.take_turn(THROTTLE_KEY, timedelta(hours=config.period_hours)):
        return None
    runs = run_checks(all_checks())
    failing = [run for run in runs if run.status in (ERROR, WARNING)]
    if config.failures_only and not failing:
        log.info("Health report: all checks passed; nothing sent (failures only)")
        return None
    message = EmailMessage(
        subject=subject(runs),
        body=render(runs, config),
        to=[config.recipient],
    )
    return enqueue(message, kind=Kind.REPORT)


def subject(runs: Sequence[CheckRun]) -> str:
    return f"Postroom health ({runtime.environment_name()}): {summary(runs)}"


def render(runs: Sequence[CheckRun], config: ReportConfig) -> str:
    shown = [r for r in runs if r.status in (ERROR, WARNING)] if config.failures_only else runs
    lines = [
        f"Health checks of the Postroom site {runtime.site_dir()}",
        f"({runtime.environment_name()} environment), {timezone.now():%Y-%m-%d %H:%M} UTC.",
        "",
        f"Result: {summary(runs)}.",
        "",
    ]
    for run in shown:
        lines.append(f"[{_MARK[run.status]}] {run.check.group} / {run.check.name}")
        if config.detail == DETAILED:
            for result in run.results:
                step = f"{result.step}: " if result.step else ""
                lines.append(f"    {_MARK[result.status]:<8} {step}{result.message}")
                if result.fix and result.status in (ERROR, WARNING):
                    lines.append(f"             Fix: {result.fix}")
        else:
            worst = next((r for r in run.results if r.status == run.status), None)
            if worst is not None and run.status in (ERROR, WARNING):
                lines.append(f"    {worst.message}")
    if config.failures_only and not shown:
        lines.append("Every check passed.")
    lines += [
        "",
        "Run the checks yourself on the backoffice's Health page, or with `postroom check`.",
        f"This report is sent {config.describe()} (Postroom:HealthReport).",
    ]
    return "\n".join(lines) + "\n"
