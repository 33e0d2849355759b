"""The webhook endpoints, /events/<provider>/: no session, no CSRF token (these views only),
a signature instead. Refusals are logged with the provider and the reason, never a secret."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from postroom.events.errors import Refused
from postroom.events.webhooks import MAX_BODY, provider_named, receive

log = logging.getLogger("postroom.events")


def _refusal(status: int, reason: str) -> JsonResponse:
    return JsonResponse({"error": reason}, status=status)


@csrf_exempt
@never_cache
def webhook(request: HttpRequest, provider: str) -> HttpResponse:
    found = provider_named(provider)
    if found is None:
        return _refusal(404, "Postroom takes no events from a provider of this name.")
    if request.method != "POST":
        response = _refusal(405, "Providers POST their events here.")
        response["Allow"] = "POST"
        return response
    if not found.secret():
        log.warning("Refused %s events: the endpoint is not configured", found.slug)
        return _refusal(404, f"This endpoint is off until {found.key} is set.")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    try:
        if length > MAX_BODY:
            raise Refused(413, f"The body is larger than {MAX_BODY // 1024} KiB.")
        try:
            body = request.body
        except RequestDataTooBig:
            raise Refused(413, f"The body is larger than {MAX_BODY // 1024} KiB.") from None
        outcome = receive(found, body, request.headers)
    except Refused as refused:
        log.warning(
            "Refused %s events from %s (%s): %s",
            found.slug,
            request.META.get("REMOTE_ADDR", "?"),
            refused.status,
            refused.reason,
        )
        return _refusal(refused.status, refused.reason)
    return JsonResponse(
        {
            "recorded": outcome.recorded,
            "unmatched": outcome.unmatched,
            "skipped": outcome.skipped,
            **({"note": outcome.note} if outcome.note else {}),
        }
    )
