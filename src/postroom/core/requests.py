"""What views ask of a request: who is asking (the client's address) and in what form."""

from __future__ import annotations

from django.http import HttpRequest

MAX_ADDRESS_LENGTH = 45  # the longest IPv6 text form
# `serve --inbox-port N` tells every request where its catcher listens, so that pages name the
# port in use rather than the configured one (nothing changes Django's settings at run time).
INBOX_PORT_ENVIRON = "postroom.inbox_port"


def client_address(request: HttpRequest) -> str:
    """The visitor's IP address, for rate limits and form entries.

    ``REMOTE_ADDR`` is the peer's address; behind ``POSTROOM_TRUSTED_PROXY`` the web server
    (waitress) has already replaced it with the one the proxy put in ``X-Forwarded-For``, and
    drops that header from anyone else. So this never reads a forwarding header itself.
    """
    return (request.META.get("REMOTE_ADDR") or "unknown")[:MAX_ADDRESS_LENGTH]


def wants_json(request: HttpRequest, unless_html: bool = False) -> bool:
    """The client asked for JSON (``Accept: application/json``) rather than a page.

    ``unless_html``: also answer JSON to clients that did not ask for HTML (curl, monitors).
    """
    accept = request.headers.get("Accept", "")
    if "application/json" in accept:
        return True
    return unless_html and "text/html" not in accept


def inbox_port(request: HttpRequest, configured: int) -> int:
    """The port this process's development catcher listens on (see INBOX_PORT_ENVIRON)."""
    port = request.META.get(INBOX_PORT_ENVIRON)
    return port if isinstance(port, int) else configured
