"""``GET/POST/DELETE /api/v1/suppressions``: the site's suppression list over the API.

The list belongs to the site, not to one application (a hard bounce stops mail to the address
from every application), so any enabled application may read and change all of it. Each change
records which application made it, like the screen records the administrator.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse

from postroom.api.responses import answer, error
from postroom.applications.models import Application
from postroom.delivery.models import Suppression, SuppressionReason
from postroom.delivery.suppression import (
    InvalidAddress,
    is_suppressed,
    normalise,
    suppress,
    unsuppress,
)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
SEARCH_MAX_CHARS = 200
SEARCH_MAX_TERMS = 10
NOTE_MAX_CHARS = 1000
MAX_BODY_BYTES = 16 * 1024


def entry(row: Suppression) -> dict[str, Any]:
    return {
        "address": row.address,
        "reason": row.reason,
        "created_at": row.created_at.isoformat(),
        "source": row.source,
        "note": row.note,
        "message": row.message_id,
    }


def handle(request: HttpRequest, application: Application) -> HttpResponse:
    if request.method == "GET":
        return listing(request)
    data = _json_body(request)
    if isinstance(data, JsonResponse):
        return data
    return add(data, application) if request.method == "POST" else remove(data, application)


def listing(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:SEARCH_MAX_CHARS].strip()
    rows = Suppression.objects.all()
    for term in query.split()[:SEARCH_MAX_TERMS]:
        rows = rows.filter(Q(key__icontains=term) | Q(note__icontains=term))
    reason = request.GET.get("reason", "")
    if reason:
        if reason not in SuppressionReason.values:
            return _invalid("reason", f"One of {', '.join(SuppressionReason.values)}.")
        rows = rows.filter(reason=reason)
    per_page = _number(request.GET.get("per_page"), PAGE_SIZE)
    number = _number(request.GET.get("page"), 1)
    if per_page is None or not 1 <= per_page <= MAX_PAGE_SIZE:
        return _invalid("per_page", f"A whole number from 1 to {MAX_PAGE_SIZE}.")
    if number is None or number < 1:
        return _invalid("page", "A whole number from 1.")
    paginator = Paginator(rows, per_page)
    if number > max(paginator.num_pages, 1):
        return _invalid("page", f"There are {paginator.num_pages} pages.")
    page = paginator.page(number)
    return answer(
        {
            "suppressions": [entry(row) for row in page.object_list],
            "page": number,
            "per_page": per_page,
            "total": paginator.count,
            "pages": paginator.num_pages,
        }
    )


def add(data: dict[str, Any], application: Application) -> HttpResponse:
    address, note = _address_and_note(data)
    if isinstance(address, JsonResponse):
        return address
    reason = data.get("reason", SuppressionReason.MANUAL)
    if reason not in SuppressionReason.values:
        return _invalid("reason", f"One of {', '.join(SuppressionReason.values)}.")
    already = is_suppressed(address)
    if already is not None:
        return answer({**entry(already), "created": False})
    row = suppress(address, reason, source=_source(application), note=note)
    return answer({**entry(row), "created": True}, 201)


def remove(data: dict[str, Any], application: Application) -> HttpResponse:
    address, note = _address_and_note(data)
    if isinstance(address, JsonResponse):
        return address
    removed = unsuppress(address, note, removed_by=_source(application))
    if removed is None:
        return error(404, "not_found", f"{address} is not on the suppression list.")
    return answer({"address": removed.address, "removed": True})


def _address_and_note(data: dict[str, Any]) -> tuple[str | JsonResponse, str]:
    address, note = data.get("address"), data.get("note", "")
    if not isinstance(note, str) or len(note) > NOTE_MAX_CHARS:
        return _invalid("note", f"Text of at most {NOTE_MAX_CHARS} characters."), ""
    if not isinstance(address, str):
        return _invalid("address", "Required: an email address such as name@example.com."), ""
    try:
        return normalise(address), note.strip()
    except InvalidAddress as problem:
        return _invalid("address", str(problem)), ""


def _json_body(request: HttpRequest) -> dict[str, Any] | JsonResponse:
    if request.content_type != "application/json":
        return error(415, "unsupported_media_type", "Send the body as application/json.")
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return error(413, "too_large", f"A body here has at most {MAX_BODY_BYTES} bytes.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as problem:
        return error(400, "invalid_json", f"The body is not JSON: {problem}.")
    if not isinstance(data, dict):
        return error(400, "invalid_json", 'The body is a JSON object, e.g. {"address": "…"}.')
    return data


def _number(text: str | None, default: int) -> int | None:
    if text is None or text == "":
        return default
    return int(text) if text.isdigit() and len(text) < 10 else None


def _invalid(field: str, message: str) -> JsonResponse:
    return error(
        422, "invalid", "Some fields are invalid.", fields=[{"field": field, "message": message}]
    )


def _source(application: Application) -> str:
    return f"api: {application.name}"[:40]
