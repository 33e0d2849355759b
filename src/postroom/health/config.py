"""The health settings, section ``Postroom:Health`` and ``Postroom:HealthReport``.

Read like every other setting (appsettings*.json, web.config, ``Postroom__Health__...`` in
the environment), at each use, so a changed file takes effect without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import parseaddr

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from postroom.mailsettings import Problem, read_bool, read_int, read_setting

DEFAULT_TIMEOUT = 10
DNS_TIMEOUT = 3.0
SUMMARY, DETAILED = "Summary", "Detailed"


def timeout_seconds() -> int:
    """The bound on the whole SMTP check (``Postroom:Health:TimeoutSeconds``, default 10)."""
    return int(
        read_int("Postroom:Health:TimeoutSeconds", DEFAULT_TIMEOUT, low=1, high=120)[0].value
    )


def dns_server() -> tuple[str, int] | None:
    """``Postroom:Health:DnsServer`` as (host, port): ``10.0.0.2``, ``127.0.0.1:5353``,
    ``[::1]:53``; None for the system resolver."""
    value = read_setting("Postroom:Health:DnsServer").value
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    host, port = text, 53
    if text.startswith("["):  # [IPv6]:port
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, digits = text.partition(":")
        if digits.isdigit():
            port = int(digits)
    return host, port


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
    problems: list[Problem | None] = []
    period, problem = read_int("Postroom:HealthReport:PeriodHours", 0, low=0, high=24 * 366)
    problems.append(problem)
    failures_only, problem = read_bool("Postroom:HealthReport:FailuresOnly", True)
    problems.append(problem)
    notes = [str(p) for p in problems if p is not None]

    recipient_setting = read_setting("Postroom:HealthReport:Recipient")
    recipient = str(recipient_setting.value or "").strip()
    if recipient:
        address = parseaddr(recipient)[1]
        try:
            validate_email(address)
        except ValidationError:
            notes.append(
                f"{recipient_setting.origin}: Postroom:HealthReport:Recipient is not an email"
                " address; the report is off until it is one."
            )
            recipient = ""
    detail_value = str(read_setting("Postroom:HealthReport:Detail").value or "").strip()
    detail = SUMMARY
    if detail_value.lower() == DETAILED.lower():
        detail = DETAILED
    elif detail_value and detail_value.lower() != SUMMARY.lower():
        notes.append(
            f"Postroom:HealthReport:Detail is {detail_value[:40]!r}; expected Summary or"
            " Detailed. Summary is used."
        )
    return ReportConfig(
        int(period.value), recipient, detail, bool(failures_only.value), tuple(notes)
    )
