"""The sections read from the files and the environment: delivery, alerts, security, health."""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from postroom.config.model import SERVE, WORKER, Alerts, Delivery, Health, Issue, Security
from postroom.config.values import Reader, invalid_origin
from postroom.mailsettings import convert
from postroom.mailsettings.layers import Layers
from postroom.mailsettings.model import Secret, Setting

DAY_HOURS = 24
MAX_DAYS = 36_500
INVITE_HOURS = "Postroom:Security:UserInviteExpiryHours"
INVITE_TIMESPAN = "Umbraco:CMS:Security:UserInviteEmailExpiry"
MAX_INVITE_EXPIRY = timedelta(days=365)


def read_delivery(layers: Layers, issues: list[Issue]) -> Delivery:
    r = Reader(layers, "delivery", issues)
    return Delivery(
        give_up_after_hours=r.whole(
            "Postroom:Delivery:GiveUpAfterHours",
            72,
            1,
            DAY_HOURS * 365,
            "Write a whole number of hours, e.g. 72 for three days.",
        ),
        messages_per_second=r.whole(
            "Postroom:Delivery:MessagesPerSecond",
            0,
            0,
            10_000,
            "Write a whole number of messages per second for the whole deployment, or 0 for"
            " no limit.",
        ),
        keep_sent_bodies_days=r.whole(
            "Postroom:Delivery:KeepSentBodiesDays",
            30,
            1,
            MAX_DAYS,
            "Write a whole number of days, e.g. 30.",
        ),
        keep_log_days=r.whole(
            "Postroom:Delivery:KeepLogDays",
            365,
            1,
            MAX_DAYS,
            "Write a whole number of days, e.g. 365.",
        ),
        **_throughput(r),
    )


# -- throughput and provider limits -----------------------------------------------------------

DEFAULT_CONNECTIONS = 10  # why: delivery/connections.py
LEASE_TIMEOUTS = 2  # see lease_problems


def _throughput(r: Reader) -> dict[str, Setting]:
    return {
        "connections": r.whole(
            "Postroom:Delivery:Connections",
            DEFAULT_CONNECTIONS,
            1,
            100,
            "Write a whole number of SMTP connections per worker, from 1 to 100, e.g. 10.",
        ),
        "max_connections": r.whole(
            "Postroom:Delivery:MaxConnections",
            0,
            0,
            10_000,
            "Write the most SMTP connections all workers together may hold, or 0 for no cap.",
        ),
    }


def lease_problems(lease_seconds: float, smtp_timeout: float | None) -> list[Issue]:
    """A lease that one slow message could outlast: the worker must not start with it.

    A worker renews its leases every third of the lease, and sends no message's content
    once less than one SMTP timeout of its lease is left (the final reply may take that long).
    Both hold with room only when the lease is more than twice the timeout.
    """
    timeout = float(smtp_timeout or 30.0)
    if lease_seconds > LEASE_TIMEOUTS * timeout:
        return []
    return [
        Issue(
            "env",
            f"The lease of {lease_seconds:g} s is not more than {LEASE_TIMEOUTS} times the SMTP"
            f" timeout of {timeout:g} s: one slow message could outlast it, and another worker"
            " would send the same messages.",
            key="POSTROOM_LEASE_SECONDS",
            hint=f"Set POSTROOM_LEASE_SECONDS above {LEASE_TIMEOUTS * timeout:g} (e.g. 300), or"
            " lower Postroom:Smtp:TimeoutSeconds.",
            section="hosting",
            blocks=(WORKER, SERVE),
        )
    ]


def read_alerts(layers: Layers, issues: list[Issue]) -> Alerts:
    r = Reader(layers, "alerts", issues)
    return Alerts(
        stuck_after_minutes=r.whole(
            "Postroom:Alerts:StuckAfterMinutes",
            30,
            1,
            DAY_HOURS * 60 * 30,
            "Write a whole number of minutes, e.g. 30.",
        ),
        every_minutes=r.whole(
            "Postroom:Alerts:EveryMinutes",
            60,
            1,
            DAY_HOURS * 60 * 30,
            "Write a whole number of minutes, e.g. 60.",
        ),
        webhook_url=_webhook(r),
    )


def webhook_url_error(url: str) -> str | None:
    """Why ``url`` cannot take the alert webhook's POST, in words that never quote it."""
    if any(ord(char) < 33 or char == "\x7f" for char in url):
        return "it holds spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return "it is not a URL with a valid host and port"
    if parts.scheme.lower() not in ("http", "https"):
        return "it does not start with https:// or http://"
    if not parts.hostname:
        return "it names no host"
    return None


def _webhook(r: Reader) -> Setting:
    key = "Postroom:Alerts:WebhookUrl"
    entry = r.entry(key)
    if entry is None:
        return Setting()
    try:
        url = convert.to_string(entry.value)
        reason = webhook_url_error(url)
    except convert.Invalid:
        url, reason = "", "it is not a string"
    if reason is None:
        return Setting(Secret(url), entry.origin)
    r.report(
        entry,
        key,
        f"{reason}, so alerts are not posted to it.",
        "Write the full URL your alerting service gives, such as"
        " https://hooks.example.com/..., best in the environment variable"
        " Postroom__Alerts__WebhookUrl.",
    )
    return Setting(None, invalid_origin(entry))


def read_security(layers: Layers, issues: list[Issue]) -> Security:
    r = Reader(layers, "security", issues)
    return Security(
        site_name=_site_name(r),
        invite_expiry=_invite_expiry(r),
        allow_password_reset=r.flag("Umbraco:CMS:Security:AllowPasswordReset", False),
        max_failed_logins=r.whole(
            "Umbraco:CMS:Security:UserPassword:MaxFailedAccessAttemptsBeforeLockout",
            5,
            1,
            1000,
            "Write a whole number of failed logins, e.g. 5.",
        ),
        lockout_minutes=r.whole(
            "Postroom:Security:LockoutMinutes",
            15,
            1,
            DAY_HOURS * 60,
            "Write a whole number of minutes, e.g. 15.",
        ),
        resets_per_hour_per_address=r.whole(
            "Postroom:Security:PasswordResetsPerHourPerAddress",
            5,
            1,
            10_000,
            "Write a whole number of requests per hour, e.g. 5.",
        ),
        resets_per_hour_per_account=r.whole(
            "Postroom:Security:PasswordResetsPerHourPerAccount",
            3,
            1,
            100,
            "Write a whole number of requests per hour, e.g. 3.",
        ),
    )


def _site_name(r: Reader) -> Setting:
    setting = r.text("Postroom:SiteName", "Postroom")
    name = " ".join(str(setting.value).split())[:100]
    return Setting(name or "Postroom", setting.origin if name else "default")


# .NET TimeSpan: [d.]hh:mm[:ss[.fffffff]], or a whole number of days.
_TIMESPAN = re.compile(
    r"(?:(?P<days>\d{1,5})\.)?(?P<hours>\d{1,5}):(?P<minutes>\d{1,2})"
    r"(?::(?P<seconds>\d{1,2})(?:\.(?P<fraction>\d{1,7}))?)?"
)


def parse_timespan(text: str) -> timedelta | None:
    """``3.00:00:00``, ``72:00:00`` (more than 23 hours is accepted here), ``3`` = 3 days."""
    text = text.strip()
    if re.fullmatch(r"\d{1,5}", text):
        return timedelta(days=int(text))
    match = _TIMESPAN.fullmatch(text)
    if not match or int(match["minutes"]) > 59 or int(match["seconds"] or 0) > 59:
        return None
    return timedelta(
        days=int(match["days"] or 0),
        hours=int(match["hours"]),
        minutes=int(match["minutes"]),
        seconds=int(match["seconds"] or 0),
    )


def _timespan(value: Any) -> timedelta:
    span = parse_timespan(convert.to_string(value))
    if span is None or not timedelta(minutes=1) <= span <= MAX_INVITE_EXPIRY:
        raise convert.Invalid(
            "a time span such as 3.00:00:00 (3 days) or 72:00:00, from one minute to 365 days"
        )
    return span


def _invite_expiry(r: Reader) -> Setting:
    """``UserInviteExpiryHours`` wins over .NET's ``UserInviteEmailExpiry``; default 72 hours."""
    hours = r.whole(INVITE_HOURS, 72, 1, DAY_HOURS * 365, "Write a whole number of hours.")
    span = r.typed(INVITE_TIMESPAN, None, _timespan, "Write a time span such as 3.00:00:00.")
    if hours.origin != "default":
        return Setting(timedelta(hours=hours.value), hours.origin)
    if span.is_set:
        return span
    return Setting(timedelta(hours=hours.value), hours.origin)


SUMMARY, DETAILED = "Summary", "Detailed"


def read_health(layers: Layers, issues: list[Issue]) -> Health:
    r = Reader(layers, "health", issues)
    return Health(
        timeout_seconds=r.whole(
            "Postroom:Health:TimeoutSeconds", 10, 1, 120, "Write a whole number of seconds."
        ),
        dns_server=r.typed(
            "Postroom:Health:DnsServer",
            None,
            _dns_server,
            "Write a DNS server as host or host:port, e.g. 10.0.0.2 or [::1]:53, or remove it"
            " to use the system's resolver.",
        ),
        report_period_hours=r.whole(
            "Postroom:HealthReport:PeriodHours",
            0,
            0,
            DAY_HOURS * 366,
            "Write a whole number of hours, or 0 to switch the report off.",
        ),
        report_recipient=r.typed(
            "Postroom:HealthReport:Recipient",
            None,
            _address,
            "That is not an email address: write one, e.g. ops@yoursite.com. The report is off"
            " until it is one.",
        ),
        report_detail=r.typed(
            "Postroom:HealthReport:Detail",
            SUMMARY,
            lambda v: convert.to_enum(v, (SUMMARY, DETAILED)),
            "Write Summary or Detailed.",
        ),
        report_failures_only=r.flag("Postroom:HealthReport:FailuresOnly", True),
    )


def _address(value: Any) -> str:
    text = convert.to_string(value)
    try:
        validate_email(parseaddr(text)[1])
    except ValidationError:
        raise convert.Invalid("an email address such as ops@yoursite.com") from None
    return text


def _dns_server(value: Any) -> tuple[str, int]:
    """``10.0.0.2``, ``127.0.0.1:5353``, ``[::1]:53``, ``dns.example`` as (host, port)."""
    text = convert.to_string(value)
    expected = "a DNS server as host or host:port"
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise convert.Invalid(expected)
            port = rest[1:]
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    if not host or any(char.isspace() or char in "/@" for char in host):
        raise convert.Invalid(expected)
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise convert.Invalid(expected + ", with a port from 1 to 65535")
    return host, int(port)
