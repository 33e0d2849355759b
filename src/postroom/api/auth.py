"""Who is calling: the application of the request's bearer secret, or a JSON refusal."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, JsonResponse

from postroom.api.responses import error
from postroom.applications.credentials import authenticate_bearer
from postroom.applications.models import Application
from postroom.core import ratelimit
from postroom.core.requests import client_address

FAILURE_SCOPE = "api-auth-failure"
FAILURES_PER_WINDOW = 20  # wrong keys per client address before it must wait
FAILURE_WINDOW = timedelta(minutes=5)


def caller(request: HttpRequest) -> Application | JsonResponse:
    """The calling application, or the answer to give: 401, 403 or 429."""
    address = client_address(request)
    earlier = ratelimit.peek(FAILURE_SCOPE, address)
    if earlier and earlier.over(FAILURES_PER_WINDOW - 1):
        return error(
            429,
            "too_many_failures",
            "Too many requests with a wrong key from this address; wait and check the key.",
            headers={"Retry-After": str(earlier.seconds_left())},
        )
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    application = authenticate_bearer(secret.strip()) if scheme.lower() == "bearer" else None
    if application is None:
        ratelimit.hit(FAILURE_SCOPE, address, FAILURE_WINDOW)
        return error(
            401,
            "unauthorized",
            "Send the application's secret as 'Authorization: Bearer <secret>'. This one is "
            "missing, wrong, expired or belongs to a disabled application.",
            headers={"WWW-Authenticate": 'Bearer realm="postroom"'},
        )
    if not application.allows_client(address):
        return error(
            403,
            "client_not_allowed",
            f"The application {application.name!r} may not send from {address}; add the "
            "address to its client networks on the Applications screen.",
        )
    return application
