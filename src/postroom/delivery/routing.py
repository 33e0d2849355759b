"""Which transport carries mail now, decided from the effective settings and the environment.

- SMTP or pickup directory settings that are configured: those.
- Nothing configured, in Development: the development mail catcher.
- Nothing configured, in Production: no transport; messages are held until settings appear.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings as django_settings

from postroom import runtime
from postroom.config import current_backup_settings, current_config, current_smtp_settings
from postroom.config.urls import FallbackRelay
from postroom.delivery.backup import FailoverTransport
from postroom.delivery.models import Connection
from postroom.delivery.transports import SmtpTransport, Transport, transport_for
from postroom.mailsettings import SmtpSettings
from postroom.mailsettings.model import NONE
from postroom.smtp import Server

log = logging.getLogger("postroom.delivery")


@dataclass(frozen=True)
class Route:
    description: str  # "smtp.example.com:587 via STARTTLS"
    make_transport: Callable[[], Transport]
    development_inbox: bool = False
    # Which connection carries the mail (models.Connection), unless the transport's results
    # say otherwise: a route with a backup switches between main and backup.
    connection: str = Connection.MAIN.value


# The port of the catcher `serve --inbox-port` started, for code far from the request (the
# health checks): set by the view around the work, read when no port is passed.
_serving_inbox_port: ContextVar[int | None] = ContextVar("serving_inbox_port", default=None)


@contextmanager
def inbox_port_in_effect(port: int | None) -> Iterator[None]:
    token = _serving_inbox_port.set(port)
    try:
        yield
    finally:
        _serving_inbox_port.reset(token)


def current_route(smtp: SmtpSettings | None = None, inbox_port: int | None = None) -> Route | None:
    """``inbox_port``: where this process's catcher listens (`serve --inbox-port`), if not the
    configured POSTROOM_INBOX_PORT."""
    smtp = smtp or current_smtp_settings()
    if smtp.configured:
        if smtp.uses_pickup_directory:
            return Route(
                transport_for(smtp).description,
                lambda: transport_for(smtp),
                connection=Connection.PICKUP.value,
            )
        backup = current_backup_settings()
        if backup is not None and backup.configured:
            return _with_backup(smtp, backup)
        return Route(transport_for(smtp).description, lambda: transport_for(smtp))
    if runtime.is_development():
        return _development_inbox(inbox_port or _serving_inbox_port.get())
    return None


def _with_backup(smtp: SmtpSettings, backup: SmtpSettings) -> Route:
    config = current_config().backup
    after = timedelta(minutes=config.after_temporary_failure_minutes.value)
    own_sender = config.from_address.value
    sender = parseaddr(own_sender)[1] if own_sender else None

    def make() -> FailoverTransport:
        main = SmtpTransport.from_settings(smtp)
        standby = SmtpTransport(
            server=replace(
                Server.from_settings(backup), timeout_setting="Postroom:Smtp:Backup:TimeoutSeconds"
            )
        )
        return FailoverTransport(main, standby, after=after, backup_sender=sender)

    main_description = SmtpTransport.from_settings(smtp).description
    backup_description = Server.from_settings(backup).describe()
    return Route(f"{main_description} (backup {backup_description})", make)


def _development_inbox(port: int | None = None) -> Route:
    host = django_settings.POSTROOM_INBOX_HOST
    port = django_settings.POSTROOM_INBOX_PORT if port is None else port
    return Route(
        f"the development inbox at {host}:{port}",
        lambda: SmtpTransport(host=host, port=port, security=NONE, timeout=10.0),
        development_inbox=True,
        connection=Connection.INBOX.value,
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
        f": {str(smtp.errors[0]).rstrip('.')}. Fix {'them' if count > 1 else 'it'} and send the"
        " test again."
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
        return Route(
            description, lambda: relay_transport(relay), connection=Connection.FALLBACK.value
        )
    if setting.origin is None and runtime.is_development():
        return _development_inbox(inbox_port)
    return None
