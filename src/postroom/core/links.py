"""The address emailed links start with: POSTROOM_BASE_URL, never a Host header as such.

A link in an email is followed later, by someone who trusts it; a Host header is whatever the
client sent. So:

- ``POSTROOM_BASE_URL`` (e.g. ``https://mail.example.com``) when it is set: always.
- In Production it is required: without it, building a link raises :class:`MissingBaseUrl`,
  whose text says how to set it (the Configuration health check says so too).
- In Development only, the request's host name when ``ALLOWED_HOSTS`` names it explicitly
  (not only by ``*``; otherwise the server's own name), with the port this server answered
  on, whatever port the Host header claims. A forged Host never reaches a link.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host

from postroom import runtime
from postroom.config import current_config

SETTING = "POSTROOM_BASE_URL"
DEFAULT_PORTS = {"http": "80", "https": "443"}
HOW_TO_SET = (
    f"Set {SETTING} to the address people open Postroom at, e.g. "
    f"{SETTING}=https://mail.example.com in the environment of every Postroom process, "
    "then restart Postroom."
)


class MissingBaseUrl(Exception):
    """No address to put in an emailed link; the text says how to fix it."""


def configured_base_url() -> str:
    """``POSTROOM_BASE_URL`` as validated by the configuration (no trailing slash), or ""."""
    return current_config().hosting.base_url.value or ""


def base_url_problem() -> str | None:
    """Why links cannot be built without a request here, or None when they can."""
    setting = current_config().hosting.base_url
    configured = configured_base_url()
    if setting.origin and not configured:  # set, but the configuration could not use it
        return (
            f"{SETTING} is not an address links can start with: it must start with https://"
            f" or http:// and name a host. {HOW_TO_SET}"
        )
    if not configured and not runtime.is_development():
        where = runtime.environment_name()
        return f"Emailed links need the site's public address in {where}. {HOW_TO_SET}"
    return None


def base_url(request: HttpRequest | None) -> str:
    """``scheme://host[:port]`` for links in emails; raises MissingBaseUrl (see above)."""
    problem = base_url_problem()
    if problem:
        raise MissingBaseUrl(problem)
    configured = configured_base_url()
    if configured:
        return configured
    if request is None:
        raise MissingBaseUrl(f"No request to take the development address from. {HOW_TO_SET}")
    return _development_base(request)


def absolute_link(request: HttpRequest | None, path: str) -> str:
    return base_url(request) + path


def base_url_or_paths(request: HttpRequest | None) -> str:
    """Like :func:`base_url`, but "" where it would raise: links then carry only their path.

    For emails that must go out anyway (a form's notification): a relative link beats none,
    and far beats one that points wherever a visitor's Host header said.
    """
    try:
        return base_url(request)
    except MissingBaseUrl:
        return ""


def _development_base(request: HttpRequest) -> str:
    scheme = request.scheme
    served_port = str(request.META.get("SERVER_PORT") or DEFAULT_PORTS.get(scheme, "80"))
    domain, _claimed_port = split_domain_port(request.get_host())  # refuses unknown hosts
    explicit = [pattern for pattern in settings.ALLOWED_HOSTS if pattern != "*"]
    if not domain or not validate_host(domain, explicit):
        domain = str(request.META.get("SERVER_NAME") or "localhost")
    if ":" in domain and not domain.startswith("["):
        domain = f"[{domain}]"  # an IPv6 address
    # The port this server answered on, never the one the Host header claims.
    shown = "" if served_port == DEFAULT_PORTS.get(scheme) else f":{served_port}"
    return f"{scheme}://{domain}{shown}"
