"""Who may use the inbox API: a caller with an inbox API token, or (a setting, Development
only) anyone on loopback. Answers are JSON; there is no session, so no CSRF check either."""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from postroom import runtime
from postroom.config import current_config
from postroom.core import ratelimit
from postroom.core.jsonapi import error
from postroom.core.requests import client_address
from postroom.inbox.tokens import authenticate

log = logging.getLogger("postroom.inbox.api")

FAILURE_SCOPE = "inbox-api-auth-failure"
FAILURES_PER_WINDOW = 20  # wrong tokens per client address before it must wait
FAILURE_WINDOW = timedelta(minutes=5)


def _is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def open_on_loopback(request: HttpRequest) -> bool:
    """The setting is on, this is Development, and the caller is on this machine."""
    asked = current_config().hosting.inbox_api_open_on_loopback.value
    return bool(asked) and runtime.is_development() and _is_loopback(client_address(request))


def refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the caller may use the inbox API, else the 401 or 429 to answer."""
    address = client_address(request)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not token and open_on_loopback(request):
        return None
    earlier = ratelimit.peek(FAILURE_SCOPE, address)
    if earlier and earlier.over(FAILURES_PER_WINDOW - 1):
        return error(
            429,
            "too_many_failures",
            "Too many requests with a wrong token from this address; wait and check the token.",
            headers={"Retry-After": str(earlier.seconds_left())},
        )
    if scheme.lower() == "bearer" and authenticate(token.strip()) is not None:
        return None
    ratelimit.hit(FAILURE_SCOPE, address, FAILURE_WINDOW)
    return error(
        401,
        "unauthorized",
        "Send an inbox API token as 'Authorization: Bearer <token>'. This one is missing, "
        "wrong or revoked; an administrator creates one with 'postroom inbox token create NAME'.",
        headers={"WWW-Authenticate": 'Bearer realm="postroom-inbox"'},
    )


def inbox_api(*methods: str, public: bool = False) -> Callable:
    """Checks access (unless ``public``), then the method; JSON for every error."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @never_cache
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                if not public and (refused := refusal(request)) is not None:
                    return refused
                if request.method not in methods:
                    return error(
                        405,
                        "method_not_allowed",
                        f"{request.path} takes {' or '.join(methods)}, not {request.method}.",
                        headers={"Allow": ", ".join(methods)},
                    )
                return view(request, *args, **kwargs)
            except DatabaseError:
                log.exception("The inbox API could not reach the database for %s", request.path)
                return error(
                    503,
                    "unavailable",
                    "Postroom's database did not answer. Try again shortly.",
                    headers={"Retry-After": "5"},
                )

        return wrapped

    return decorate
