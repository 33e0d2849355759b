"""The production WSGI server (waitress) that serves the backoffice and its static files."""

from __future__ import annotations

import errno

from django.core.management.base import CommandError
from django.core.wsgi import get_wsgi_application

from postroom.config import current_config


def proxy_options() -> dict[str, object]:
    """Behind a reverse proxy, ``POSTROOM_TRUSTED_PROXY`` (its address) lets waitress take the
    visitor's address and scheme from X-Forwarded-For/-Proto, for rate limits and links."""
    proxy = current_config().hosting.trusted_proxy.value  # an IP address, validated
    if not proxy:
        return {}
    return {
        "trusted_proxy": proxy,
        "trusted_proxy_count": 1,
        "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"},
    }


def create_web_server(host: str, port: int, threads: int = 8):  # noqa: ANN201 (waitress type)
    import waitress.server

    try:
        return waitress.server.create_server(
            get_wsgi_application(),
            host=host,
            port=port,
            threads=threads,
            ident="Postroom",
            channel_timeout=60,
            clear_untrusted_proxy_headers=True,
            **proxy_options(),
        )
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise CommandError(
                f"Port {port} on {host} is already in use: is Postroom already running? "
                "Choose another port with --port or POSTROOM_PORT."
            ) from None
        raise CommandError(f"Cannot listen on {host}:{port}: {error.strerror}.") from None
