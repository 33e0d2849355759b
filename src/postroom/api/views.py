"""``POST /api/v1/messages``, ``GET /api/v1/messages/<id>``, the suppression list and the
OpenAPI description."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable

from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from postroom.api import status
from postroom.api import suppressions as suppression_list
from postroom.api.auth import caller
from postroom.api.building import queue
from postroom.api.models import IDEMPOTENCY_WINDOW, ApiMessage
from postroom.api.openapi import description
from postroom.api.responses import answer, error
from postroom.api.validation import MAX_BODY_BYTES, Invalid, parse_draft
from postroom.applications.models import Application
from postroom.applications.ratelimits import seconds_until_allowed
from postroom.delivery.models import OutboxMessage

log = logging.getLogger("postroom.api")

MAX_KEY_LENGTH = 255


def api_view(*methods: str, public: bool = False) -> Callable:
    """No CSRF (there is no session to ride on), only ``methods``, and JSON for every error.

    Unless ``public``, the caller's key is checked first (a caller without one learns nothing,
    not even which methods there are), and the view gets the calling application.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not public:
                application = caller(request)
                if isinstance(application, JsonResponse):
                    return application
                args = (application, *args)
            if request.method not in methods:
                return error(
                    405,
                    "method_not_allowed",
                    f"{request.path} takes {' or '.join(methods)}, not {request.method}.",
                    headers={"Allow": ", ".join(methods)},
                )
            try:
                return view(request, *args, **kwargs)
            except DatabaseError:
                log.exception("The API could not reach the database for %s", request.path)
                return error(
                    503,
                    "unavailable",
                    "Postroom's database did not answer; nothing was queued. Try again shortly.",
                    headers={"Retry-After": "5"},
                )

        return wrapped

    return decorate


def _accepted(row: OutboxMessage, replayed: bool = False) -> JsonResponse:
    location = reverse("api:message", args=[row.pk])
    headers = {"Location": location}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    data = {"id": row.pk, "message_id": row.message_id, "status": row.status, "url": location}
    return answer(data, 202, **headers)


def _earlier(application: Application, key: str, digest: str) -> JsonResponse | None:
    """The answer to a repeated key within the window: the first answer, or 409."""
    if not key:
        return None
    since = timezone.now() - IDEMPOTENCY_WINDOW
    earlier = (
        ApiMessage.objects.select_related("outbox")
        .filter(application=application, idempotency_key=key)
        .first()
    )
    if earlier is None:
        return None
    if earlier.created_at < since:  # the chore has not freed it yet
        ApiMessage.objects.filter(pk=earlier.pk).update(idempotency_key="")
        return None
    if earlier.body_digest != digest:
        return error(
            409,
            "idempotency_key_reused",
            "This Idempotency-Key was used in the last 24 hours with a different body; use a "
            "new key for a new message.",
        )
    return _accepted(earlier.outbox, replayed=True)


def _read_body(request: HttpRequest) -> bytes | JsonResponse:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    too_large = error(
        413,
        "too_large",
        f"A request body may have at most {MAX_BODY_BYTES} bytes; send smaller attachments.",
    )
    if declared > MAX_BODY_BYTES:
        return too_large
    body = request.read(MAX_BODY_BYTES + 1)
    return too_large if len(body) > MAX_BODY_BYTES else body


@api_view("POST")
def send(request: HttpRequest, application: Application) -> HttpResponse:
    if request.content_type != "application/json":
        return error(415, "unsupported_media_type", "Send the message as application/json.")
    body = _read_body(request)
    if isinstance(body, JsonResponse):
        return body
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        return error(
            422,
            "invalid",
            f"An Idempotency-Key is printable and at most {MAX_KEY_LENGTH} characters.",
            fields=[{"field": "Idempotency-Key", "message": "Invalid header."}],
        )
    digest = hashlib.sha256(body).hexdigest()
    if repeated := _earlier(application, key, digest):
        return repeated
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as problem:
        return error(400, "invalid_json", f"The body is not JSON: {problem}.")
    except RecursionError:
        return error(400, "invalid_json", "The body's JSON is nested too deeply.")
    try:
        draft = parse_draft(data)
    except Invalid as invalid:
        return error(422, "invalid", "Some fields are invalid.", fields=invalid.problems)
    if not application.may_send_from(draft.sender):
        return error(
            403,
            "sender_not_allowed",
            f"The application {application.name!r} may not send as {draft.sender!r}; add the "
            "address or its domain to its allowed senders.",
            fields=[{"field": "from", "message": "Not one of the application's senders."}],
        )
    if (wait := seconds_until_allowed(application)) is not None:
        return error(
            429,
            "rate_limited",
            f"The application may send {application.rate_limit_per_minute} messages a minute.",
            headers={"Retry-After": str(wait)},
        )
    try:
        with transaction.atomic():
            row = queue(draft, application, key, digest)
    except IntegrityError:  # the same key at the same moment: the other request won
        if repeated := _earlier(application, key, digest):
            return repeated
        raise
    return _accepted(row)


@api_view("GET")
def message(request: HttpRequest, application: Application, message_id: str) -> HttpResponse:
    row = None
    if message_id.isdigit() and len(message_id) < 19:
        row = (
            OutboxMessage.objects.filter(pk=int(message_id), application=application)
            .select_related("api_message")
            .first()
        )
    if row is None:
        return error(404, "not_found", f"This application has no message {message_id}.")
    return answer(status.describe(row))


@api_view("GET", "POST", "DELETE")
def suppressions(request: HttpRequest, application: Application) -> HttpResponse:
    return suppression_list.handle(request, application)


@api_view("GET", public=True)
def openapi(request: HttpRequest) -> HttpResponse:
    return answer(description(request.build_absolute_uri("/")))


@api_view("GET", "POST", "PUT", "PATCH", "DELETE", public=True)
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return error(
        404, "not_found", f"No API at {request.path}; see /api/v1/openapi.json for what there is."
    )
