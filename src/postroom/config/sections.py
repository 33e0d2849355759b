"""The sections read from the files and the environment: delivery, alerts, security, health."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import timedelta
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from postroom.config.model import (
    SERVE,
    WORKER,
    Alerts,
    Delivery,
    Events,
    Health,
    Inbox,
    Issue,
    Security,
)
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
        soft_bounce_limit=r.whole(
            "Postroom:Suppression:SoftBounceLimit",
            0,
            0,
            1000,
            "Write how many soft bounces in a row suppress an address, e.g. 5, or 0 for never.",
        ),
        soft_bounce_window_days=r.whole(
            "Postroom:Suppression:SoftBounceWindowDays",
            7,
            1,
            MAX_DAYS,
            "Write a whole number of days, e.g. 7.",
        ),
        # The retry schedule: first delay, then times the factor per failed try, up to the
        # maximum (defaults: 30 s, 1 min, 2 min, ... one hour).
        retry_first_delay_seconds=r.whole(
            "Postroom:Delivery:RetryFirstDelaySeconds",
            30,
            1,
            DAY_HOURS * 3600,
            "Write a whole number of seconds, e.g. 30.",
        ),
        retry_backoff_factor=r.typed(
            "Postroom:Delivery:RetryBackoffFactor",
            2.0,
            _factor,
            "Write a number from 1 (the same delay every time) to 10, e.g. 2 to double it.",
        ),
        retry_max_delay_minutes=r.whole(
            "Postroom:Delivery:RetryMaxDelayMinutes",
            60,
            1,
            DAY_HOURS * 60,
            "Write a whole number of minutes, e.g. 60.",
        ),
        **_throughput(r),
    )


def _factor(value: Any) -> float:
    try:
        return convert.to_float(value, 1, 10)
    except convert.Invalid:
        raise convert.Invalid("a number from 1 to 10, such as 2 or 1.5") from None


# -- throughput and provider limits -----------------------------------------------------------

DEFAULT_CONNECTIONS = 20  # why: delivery/connections.py
LEASE_TIMEOUTS = 2  # see lease_problems


def _throughput(r: Reader) -> dict[str, Setting]:
    return {
        "connections": r.whole(
            "Postroom:Delivery:Connections",
            DEFAULT_CONNECTIONS,
            1,
            100,
            "Write a whole number of SMTP connections per worker, from 1 to 100, e.g. 20.",
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


def read_inbox(layers: Layers, issues: list[Issue]) -> Inbox:
    """How many caught messages the development inbox keeps, and for how long."""
    r = Reader(layers, "inbox", issues)
    return Inbox(
        keep_messages=r.whole(
            "Postroom:Inbox:KeepMessages",
            5_000,
            1,
            10_000_000,
            "Write how many caught messages to keep, e.g. 5000; older ones are deleted.",
        ),
        keep_days=r.whole(
            "Postroom:Inbox:KeepDays",
            0,
            0,
            MAX_DAYS,
            "Write a whole number of days, e.g. 7, or 0 to keep messages whatever their age.",
        ),
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


def read_events(layers: Layers, issues: list[Issue]) -> Events:
    """Provider webhooks (``/events/<provider>/``): a provider's endpoint is on once its secret
    is set. Secrets are kept as :class:`Secret` and never quoted in a problem."""
    r = Reader(layers, "events", issues)
    return Events(
        sendgrid_public_key=_events_secret(
            r,
            "Postroom:Events:SendGrid:PublicKey",
            _public_key,
            "Paste the verification key SendGrid shows under Mail Settings, Signed Event"
            " Webhook Requests (base64, starting with MFkw).",
        ),
        mailgun_signing_key=_events_secret(
            r,
            "Postroom:Events:Mailgun:SigningKey",
            _token,
            "Paste the HTTP webhook signing key from Mailgun's Webhooks page.",
        ),
        postmark_secret=_events_secret(
            r,
            "Postroom:Events:Postmark:Secret",
            _token,
            "Choose a long random password and put it in the webhook URL's basic auth.",
        ),
        ses_topic_arn=r.typed(
            "Postroom:Events:Ses:TopicArn",
            None,
            _topic_arn,
            "Write the ARN of the SNS topic that receives SES events, such as"
            " arn:aws:sns:eu-west-1:123456789012:ses-events.",
        ),
        brevo_secret=_events_secret(
            r,
            "Postroom:Events:Brevo:Secret",
            _token,
            "Choose a long random token and set it as the webhook's bearer token at Brevo.",
        ),
        generic_secret=_events_secret(
            r,
            "Postroom:Events:Generic:Secret",
            _token,
            "Choose a long random secret (at least 16 characters) and sign with it.",
        ),
        tolerance_seconds=r.whole(
            "Postroom:Events:ToleranceSeconds",
            300,
            30,
            DAY_HOURS * 3600,
            "Write a whole number of seconds, e.g. 300.",
        ),
        keep_unmatched_days=r.whole(
            "Postroom:Events:KeepUnmatchedDays",
            30,
            1,
            MAX_DAYS,
            "Write a whole number of days, e.g. 30.",
        ),
        bounce_rate_warning=r.typed(
            "Postroom:Events:BounceRateWarningPercent",
            5.0,
            _percent,
            "Write a percentage such as 5 or 2.5.",
        ),
        complaint_rate_warning=r.typed(
            "Postroom:Events:ComplaintRateWarningPercent",
            0.1,
            _percent,
            "Write a percentage such as 0.1.",
        ),
    )


def _events_secret(r: Reader, key: str, parse: Any, hint: str) -> Setting:
    """A secret that is never quoted: a problem names the key and what is wrong, not the value."""
    entry = r.entry(key)
    if entry is None:
        return Setting()
    try:
        return Setting(Secret(parse(entry.value)), entry.origin)
    except convert.Invalid as error:
        r.issues.append(
            Issue(
                entry.source,
                f"{entry.name} is not usable: expected {error.expected}. The endpoint stays off.",
                line=entry.line,
                key=key,
                hint=hint,
                section="events",
            )
        )
        return Setting(None, invalid_origin(entry))


def _token(value: Any) -> str:
    text = convert.to_string(value).strip()
    if len(text) < 16 or any(ord(char) < 33 for char in text):
        raise convert.Invalid("at least 16 characters without spaces")
    return text


def _public_key(value: Any) -> str:
    text = convert.to_string(value)
    text = text.replace("-----BEGIN PUBLIC KEY-----", "").replace("-----END PUBLIC KEY-----", "")
    text = "".join(text.split())
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise convert.Invalid("a base64 public key") from None
    if not text:
        raise convert.Invalid("a base64 public key")
    return text


def _topic_arn(value: Any) -> str:
    text = convert.to_string(value).strip()
    if not re.fullmatch(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}", text):
        raise convert.Invalid("an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:name")
    return text


def _percent(value: Any) -> float:
    try:
        number = float(convert.to_string(value).strip().rstrip("%"))
    except ValueError:
        raise convert.Invalid("a percentage from 0 to 100") from None
    if not 0 <= number <= 100:
        raise convert.Invalid("a percentage from 0 to 100")
    return number
