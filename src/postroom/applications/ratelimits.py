"""An application's own sending limit, shared by the SMTP relay and the HTTP API."""

from __future__ import annotations

from datetime import timedelta

from postroom.applications.models import Application
from postroom.core import ratelimit

SCOPE = "application-send"
WINDOW = timedelta(minutes=1)


def seconds_until_allowed(application: Application) -> int | None:
    """Count one message; None while within its limit, else the seconds until the next window.

    An application without a limit is never counted.
    """
    limit = application.rate_limit_per_minute
    if not limit:
        return None
    count = ratelimit.hit(SCOPE, str(application.pk), WINDOW)
    return count.seconds_left() if count.over(limit) else None
