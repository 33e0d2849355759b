"""Which transport carries mail now, decided from the effective settings and the environment.

- SMTP or pickup directory settings that are configured: those.
- Nothing configured, in Development: the development mail catcher.
- Nothing configured, in Production: no transport; messages are held until settings appear.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings as django_settings

from postroom import runtime
from postroom.config import current_config, current_smtp_settings
from postroom.config.urls import FallbackRelay
from postroom.delivery.transports import SmtpTransport, Transport, transport_for
from postroom.mailsettings import SmtpSettings
from postroom.mailsettings.model import NONE

log = logging.getLogger("postroom.delivery")


@dataclass(frozen=True)
class Route:
    description: str  # "smtp.example.com:587 via STARTTLS"
    make_transport: Callable[[], Transport]
    development_inbox: bool = False


def current_route(smtp: SmtpSettings | None = None, inbox_port: int | None = None) -> Route | None:
    """``inbox_port``: where this process's catcher listens (`serve --inbox-port`), if not the
    configured POSTROOM_INBOX_PORT."""
    smtp = smtp or current_smtp_settings()
    if smtp.configured:
        return Route(transport_for(smtp).description, lambda: transport_for(smtp))
    if runtime.is_development():
        return _development_inbox(inbox_port)
    return None


def _development_inbox(port: int | None = None) -> Route:
    host = django_settings.POSTROOM_INBOX_HOST
    port = django_settings.POSTROOM_INBOX_PORT if port is None else port
    return Route(
        f"the development inbox at {host}:{port}",
        lambda: SmtpTransport(host=host, port=port, security=NONE, timeout=10.0),
        development_inbox=True,
    )


def describe_destination(smtp: SmtpSettings | None = None, inbox_port: int | None = None) -> str:
    """One sentence for start-up output and the dashboard: where mail goes now."""
    smtp = smtp or current_smtp_settings()
    route = current_route(smtp, inbox_port)
    if route is not None:
        return f"mail goes to {route.description}"
    reason = "the SMTP settings have errors" if smtp.errors else "SMTP is not configured"
    return (
        f"mail is held: {reason} and this is the {runtime.environment_name()} environment; "
        "messages are kept and sent once valid settings appear"
    )


def test_email_refusal(smtp: SmtpSettings | None = None) -> str | None:
    """Why a test email must not be sent now, or None.

    A test is meant to try the configured settings: when they are invalid, sending through
    another route (the development inbox) would report a success that proves nothing.
    """
    smtp = smtp or current_smtp_settings()
    if not smtp.errors:
        return None
    count = len(smtp.errors)
    return (
        f"No test email was sent: the SMTP settings have {count} error{'s' if count > 1 else ''}"
        f" ({smtp.errors[0]}). Fix {'them' if count > 1 else 'it'} and send the test again."
    )


def relay_transport(relay: FallbackRelay) -> SmtpTransport:
    return SmtpTransport(
        host=relay.host,
        port=relay.port,
        security=relay.security,
        username=relay.username,
        password=relay.password,
    )


def fallback_route(inbox_port: int | None = None) -> Route | None:
    """The hosting relay for invitations and alerts; in Development, the development inbox.

    A malformed ``POSTROOM_FALLBACK_SMTP_URL`` is a configuration problem (shown by
    ``postroom config show``, the Settings page and the health checks): there is then no
    relay, and nothing is logged here, at every worker loop.
    """
    setting = current_config().hosting.fallback_smtp_url
    relay: FallbackRelay | None = setting.value
    if relay is not None:
        description = f"the fallback relay {relay_transport(relay).description}"
        return Route(description, lambda: relay_transport(relay))
    if setting.origin is None and runtime.is_development():
        return _development_inbox(inbox_port)
    return None
