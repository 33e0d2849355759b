"""Which transport carries mail now, decided from the effective settings and the environment.

- SMTP or pickup directory settings that are configured: those.
- Nothing configured, in Development: the development mail catcher.
- Nothing configured, in Production: no transport; messages are held until settings appear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings as django_settings

from postroom import runtime
from postroom.delivery.transports import SmtpTransport, Transport, transport_for
from postroom.mailsettings import SmtpSettings, current_smtp_settings
from postroom.mailsettings.model import NONE


@dataclass(frozen=True)
class Route:
    description: str  # "smtp.example.com:587 via STARTTLS"
    make_transport: Callable[[], Transport]
    development_inbox: bool = False


def current_route(smtp: SmtpSettings | None = None) -> Route | None:
    smtp = smtp or current_smtp_settings()
    if smtp.configured:
        return Route(transport_for(smtp).description, lambda: transport_for(smtp))
    if runtime.is_development():
        host, port = django_settings.POSTROOM_INBOX_HOST, django_settings.POSTROOM_INBOX_PORT
        return Route(
            f"the development inbox at {host}:{port}",
            lambda: SmtpTransport(host=host, port=port, security=NONE, timeout=10.0),
            development_inbox=True,
        )
    return None


def describe_destination(smtp: SmtpSettings | None = None) -> str:
    """One sentence for start-up output and the dashboard: where mail goes now."""
    smtp = smtp or current_smtp_settings()
    route = current_route(smtp)
    if route is not None:
        return f"mail goes to {route.description}"
    reason = "the SMTP settings have errors" if smtp.errors else "SMTP is not configured"
    return (
        f"mail is held: {reason} and this is the {runtime.environment_name()} environment; "
        "messages are kept and sent once valid settings appear"
    )
