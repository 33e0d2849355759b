"""Which transport carries mail now, decided from the effective settings and the environment.

- SMTP or pickup directory settings that are configured: those.
- Nothing configured, in Development: the development mail catcher.
- Nothing configured, in Production: no transport; messages are held until settings appear.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings as django_settings

from postroom import runtime
from postroom.delivery.transports import SmtpTransport, Transport, transport_for
from postroom.mailsettings import SmtpSettings, current_smtp_settings
from postroom.mailsettings.model import AUTO, NONE, SSL_ON_CONNECT, START_TLS, Secret

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


FALLBACK_SCHEMES = {"smtp": AUTO, "smtp+starttls": START_TLS, "smtps": SSL_ON_CONNECT}


class FallbackUrlError(ValueError):
    """POSTROOM_FALLBACK_SMTP_URL is malformed; the message never holds the password."""


def parse_fallback_url(url: str) -> SmtpTransport:
    """``smtp+starttls://user:pass@relay.example:587`` (also ``smtp://``, ``smtps://``)."""
    parts = urlsplit(url.strip())
    security = FALLBACK_SCHEMES.get(parts.scheme.lower())
    if security is None:
        raise FallbackUrlError(
            f"POSTROOM_FALLBACK_SMTP_URL has the scheme '{parts.scheme}'; use smtp://, "
            "smtp+starttls:// or smtps://, e.g. smtp+starttls://user:pass@relay.example:587"
        )
    try:
        port = parts.port
    except ValueError:
        raise FallbackUrlError(
            "POSTROOM_FALLBACK_SMTP_URL has a port that is not a number."
        ) from None
    if not parts.hostname:
        raise FallbackUrlError("POSTROOM_FALLBACK_SMTP_URL names no host.")
    password = unquote(parts.password) if parts.password else None
    return SmtpTransport(
        host=parts.hostname,
        port=port or (465 if security == SSL_ON_CONNECT else 587),
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=Secret(password) if password else None,
    )


def fallback_route(inbox_port: int | None = None) -> Route | None:
    """The hosting relay for invitations and alerts; in Development, the development inbox."""
    url = os.environ.get("POSTROOM_FALLBACK_SMTP_URL", "").strip()
    if url:
        try:
            parse_fallback_url(url)
        except FallbackUrlError as error:
            log.error("%s", error)
            return None
        transport = parse_fallback_url(url)
        return Route(f"the fallback relay {transport.description}", lambda: parse_fallback_url(url))
    if runtime.is_development():
        return _development_inbox(inbox_port)
    return None
