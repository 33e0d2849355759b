"""The health settings, section ``Postroom:Health`` and ``Postroom:HealthReport``: the
``health`` section of :mod:`postroom.config`, read at each use, so a changed file takes effect
without a restart."""

from __future__ import annotations

from dataclasses import dataclass, field

from postroom.config import current_config
from postroom.config.sections import DETAILED, SUMMARY

DEFAULT_TIMEOUT = 10
DNS_TIMEOUT = 3.0
__all__ = ["DETAILED", "SUMMARY", "ReportConfig", "dns_server", "report_config"]


def timeout_seconds() -> int:
    """The bound on the whole SMTP check (``Postroom:Health:TimeoutSeconds``, default 10)."""
    return int(current_config().health.timeout_seconds.value)


def dns_server() -> tuple[str, int] | None:
    """``Postroom:Health:DnsServer`` as (host, port): ``10.0.0.2``, ``127.0.0.1:5353``,
    ``[::1]:53``; None for the system resolver (also while the value is invalid: that is a
    configuration problem)."""
    return current_config().health.dns_server.value


@dataclass(frozen=True)
class ReportConfig:
    period_hours: int = 0
    recipient: str = ""
    detail: str = SUMMARY
    failures_only: bool = True
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def enabled(self) -> bool:
        return self.period_hours > 0 and bool(self.recipient)

    def describe(self) -> str:
        if self.period_hours <= 0:
            return "off (Postroom:HealthReport:PeriodHours is 0 or unset)"
        if not self.recipient:
            return "off: no valid recipient (Postroom:HealthReport:Recipient)"
        every = "hour" if self.period_hours == 1 else f"{self.period_hours} hours"
        what = "only when a check warns or fails" if self.failures_only else "always"
        return f"every {every} to {self.recipient}, {self.detail.lower()}, {what}"


def report_config() -> ReportConfig:
    config = current_config()
    health = config.health
    notes = tuple(str(p) for p in config.problems_of("health") if "HealthReport" in (p.key or ""))
    return ReportConfig(
        int(health.report_period_hours.value),
        str(health.report_recipient.value or ""),
        str(health.report_detail.value),
        bool(health.report_failures_only.value),
        notes,
    )
