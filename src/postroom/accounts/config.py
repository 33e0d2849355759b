"""Security and naming settings, read through :mod:`postroom.mailsettings` like every setting.

- ``Postroom:SiteName``, default Postroom: shown in the emails.
- ``Postroom:Security:UserInviteExpiryHours``, default 72; wins over the next one.
- ``Umbraco:CMS:Security:UserInviteEmailExpiry``: a .NET TimeSpan, ``3.00:00:00``,
  ``72:00:00`` or ``3`` (days).
- ``Umbraco:CMS:Security:AllowPasswordReset``, default false.
- ``Umbraco:CMS:Security:UserPassword:MaxFailedAccessAttemptsBeforeLockout``, default 5: the
  failed logins of one account from one client address before that address must wait.
- ``Postroom:Security:LockoutMinutes``, default 15: the longest such wait (it starts at 30
  seconds and doubles with each further failure).
- ``Postroom:Security:PasswordResetsPerHourPerAddress``, default 5 (per client IP address).
- ``Postroom:Security:PasswordResetsPerHourPerAccount``, default 3 (per address typed).

Each can be set in appsettings*.json or as an environment variable with ``__`` between the
parts (``Umbraco__CMS__Security__AllowPasswordReset=true``). A value that cannot be used is
logged with its place and the default applies.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from postroom.core.links import base_url_problem
from postroom.delivery.routing import current_route
from postroom.mailsettings import Problem, read_bool, read_int, read_setting

log = logging.getLogger("postroom.accounts")

SITE_NAME = "Postroom:SiteName"
INVITE_HOURS = "Postroom:Security:UserInviteExpiryHours"
INVITE_TIMESPAN = "Umbraco:CMS:Security:UserInviteEmailExpiry"
ALLOW_RESET = "Umbraco:CMS:Security:AllowPasswordReset"
MAX_FAILURES = "Umbraco:CMS:Security:UserPassword:MaxFailedAccessAttemptsBeforeLockout"
LOCKOUT_MINUTES = "Postroom:Security:LockoutMinutes"
RESETS_PER_ADDRESS = "Postroom:Security:PasswordResetsPerHourPerAddress"
RESETS_PER_ACCOUNT = "Postroom:Security:PasswordResetsPerHourPerAccount"

DEFAULT_INVITE_EXPIRY = timedelta(hours=72)
MAX_INVITE_EXPIRY = timedelta(days=365)
RESET_EXPIRY = timedelta(hours=1)
_warned: set[str] = set()


def _warn(problem: Problem | None) -> None:
    if problem is not None and str(problem) not in _warned:
        _warned.add(str(problem))
        log.warning("%s", problem)


def site_name() -> str:
    value = read_setting(SITE_NAME).value
    name = " ".join(str(value).split()) if value is not None else ""
    return name[:100] or "Postroom"


# .NET TimeSpan: [-][d.]hh:mm[:ss[.fffffff]], or a whole number of days.
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


def invite_expiry() -> tuple[timedelta, str]:
    """How long an invitation link works after its email is sent, and where that was set."""
    hours, problem = read_int(INVITE_HOURS, 72, low=1, high=24 * 365)
    _warn(problem)
    if hours.origin != "default":
        return timedelta(hours=hours.value), str(hours.origin)
    raw = read_setting(INVITE_TIMESPAN)
    if raw.value is None:
        return DEFAULT_INVITE_EXPIRY, "default"
    span = parse_timespan(str(raw.value))
    if span is None or not timedelta(minutes=1) <= span <= MAX_INVITE_EXPIRY:
        _warn(
            Problem(
                str(raw.origin),
                f"{INVITE_TIMESPAN} is {str(raw.value)[:40]!r}; expected a time span such as "
                "3.00:00:00 (3 days) or 72:00:00, from one minute to 365 days.",
                hint="The default of 72 hours is used until it is fixed.",
            )
        )
        return DEFAULT_INVITE_EXPIRY, "default"
    return span, str(raw.origin)


def password_reset_allowed() -> bool:
    """The setting alone: is resetting a forgotten password switched on?"""
    allowed, problem = read_bool(ALLOW_RESET, False)
    _warn(problem)
    return bool(allowed.value)


def password_reset_available() -> bool:
    """Switched on, email can be sent now (site SMTP, or the inbox in Development), and its
    link can be built (POSTROOM_BASE_URL in Production).

    Never the fallback relay: it serves invitations only.
    """
    ready = current_route() is not None and base_url_problem() is None
    return password_reset_allowed() and ready


def lockout_policy() -> tuple[int, timedelta]:
    """(failed logins of one account from one address before waits begin, longest wait)."""
    failures, problem = read_int(MAX_FAILURES, 5, low=1, high=1000)
    _warn(problem)
    minutes, problem = read_int(LOCKOUT_MINUTES, 15, low=1, high=24 * 60)
    _warn(problem)
    return failures.value, timedelta(minutes=minutes.value)


def reset_limits() -> tuple[int, int]:
    """(password resets per hour per client address, per account address)."""
    per_address, problem = read_int(RESETS_PER_ADDRESS, 5, low=1, high=10_000)
    _warn(problem)
    per_account, problem = read_int(RESETS_PER_ACCOUNT, 3, low=1, high=100)
    _warn(problem)
    return per_address.value, per_account.value
