"""Security and naming settings: the ``security`` section of :mod:`postroom.config`.

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
parts (``Umbraco__CMS__Security__AllowPasswordReset=true``). A value that cannot be used is a
configuration problem (``postroom config show``, the Settings page, the health checks), also
logged once, and the default applies until it is fixed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from postroom.config import current_config
from postroom.config.model import Security
from postroom.config.sections import MAX_INVITE_EXPIRY, parse_timespan
from postroom.core.links import base_url_problem
from postroom.delivery.routing import current_route

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
RESET_EXPIRY = timedelta(hours=1)
__all__ = ["MAX_INVITE_EXPIRY", "parse_timespan"]
_warned: set[str] = set()


def _security() -> Security:
    config = current_config()
    for problem in config.problems_of("security"):
        if str(problem) not in _warned:
            _warned.add(str(problem))
            log.warning("%s", problem)
    return config.security


def site_name() -> str:
    return str(_security().site_name.value)


def invite_expiry() -> tuple[timedelta, str]:
    """How long an invitation link works after its email is sent, and where that was set."""
    setting = _security().invite_expiry
    origin = str(setting.origin)
    return setting.value, "default" if origin.startswith("default") else origin


def password_reset_allowed() -> bool:
    """The setting alone: is resetting a forgotten password switched on?"""
    return bool(_security().allow_password_reset.value)


def password_reset_available() -> bool:
    """Switched on, email can be sent now (site SMTP, or the inbox in Development), and its
    link can be built (POSTROOM_BASE_URL in Production).

    Never the fallback relay: it serves invitations only.
    """
    ready = current_route() is not None and base_url_problem() is None
    return password_reset_allowed() and ready


def lockout_policy() -> tuple[int, timedelta]:
    """(failed logins of one account from one address before waits begin, longest wait)."""
    security = _security()
    return security.max_failed_logins.value, timedelta(minutes=security.lockout_minutes.value)


def reset_limits() -> tuple[int, int]:
    """(password resets per hour per client address, per account address)."""
    security = _security()
    return security.resets_per_hour_per_address.value, security.resets_per_hour_per_account.value
