"""The inbox REST API under ``/api/v1/inbox/``: for test suites of sites that send mail."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db.models import Max, Q
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from postroom.core.jsonapi import answer, error
from postroom.emailview import decoding, parsing
from postroom.emailview.responses import download
from postroom.inbox.access import inbox_api
from postroom.inbox.message_links import links
from postroom.inbox.models import CaughtMessage
from postroom.inbox.openapi import description
from postroom.inbox.search import count as search_count
from postroom.inbox.search import search

DEFAULT_PER_PAGE, MAX_PER_PAGE = 50, 200
DEFAULT_WAIT, MAX_WAIT = 10.0, 30.0  # seconds
POLL_SECONDS = 0.2  # a wait looks for a new message id this often (one indexed query)
MAX_WAITS = 4  # waits at once per process: the rest of the web threads stay free
_waits = threading.BoundedSemaphore(MAX_WAITS)
_pause = time.sleep  # replaced in tests


def _number(value: str | None, default: float, low: float, high: float) -> float | None:
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except ValueError:
        return None
    return number if low <= number <= high else None


def _invalid(name: str, message: str) -> HttpResponse:
    return error(422, "invalid", message, fields=[{"field": name, "message": message}])


def summary(message: CaughtMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "received_at": message.received_at.isoformat(),
        "from": message.from_header,
        "to": message.to_header,
        "envelope_sender": message.envelope_sender,
        "envelope_recipients": message.recipients_list,
        "subject": message.subject,
        "message_id": message.message_id,
        "size": message.size,
        "has_attachments": message.has_attachments,
        "preview": message.preview,
        "url": reverse("inbox-api:message", args=[message.pk]),
    }


def _detail(message: CaughtMessage) -> dict[str, Any]:
    found = message.outline()
    ranges = [(0, min(found.header_end, decoding.HEADERS_LIMIT + 1))]
    if found.text is not None:
        ranges.append(decoding.fetch_limit(found.text, decoding.TEXT_LIMIT))
    if found.html is not None:
        ranges.append(
            (found.html.start, min(found.html.end, found.html.start + parsing.HTML_LIMIT))
        )
    data = iter(message.raw_slices(ranges))
    headers, _ = decoding.headers_list(next(data))
    text = decoding.body_text(found.text, next(data))[0] if found.text is not None else None
    html = None
    if found.html is not None:
        html = decoding.body_text(found.html, next(data), parsing.HTML_LIMIT)[0]
    return {
        **summary(message),
        "cc": found.cc_header,
        "date": found.date_header,
        "headers": [{"name": name, "value": value} for name, value in headers],
        "text": text,
        "html": html,
        "attachments": [
            {
                "index": item.index,
                "filename": item.filename,
                "content_type": item.content_type,
                "size": item.size,
                "inline": item.inline,
                "content_id": item.content_id,
                "url": reverse("inbox-api:attachment", args=[message.pk, item.index]),
            }
            for item in found.attachments
        ],
        "links": links(text, html),
        "source_url": reverse("inbox-api:source", args=[message.pk]),
    }


def _find(pk: int) -> CaughtMessage | HttpResponse:
    message = CaughtMessage.objects.defer("raw").filter(pk=pk).first()
    if message is None:
        return error(404, "not_found", f"There is no caught message {pk}; it may be deleted.")
    return message


@inbox_api("GET", "DELETE")
def messages(request: HttpRequest) -> HttpResponse:
    """GET: a page of messages, newest first, matching ``q``. DELETE: all of them."""
    if request.method == "DELETE":
        deleted, _ = CaughtMessage.objects.all().delete()
        return answer({"deleted": deleted})
    page = _number(request.GET.get("page"), 1, 1, 1_000_000)
    per_page = _number(request.GET.get("per_page"), DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    if page is None or page != int(page):
        return _invalid("page", "Write page as a whole number from 1.")
    if per_page is None or per_page != int(per_page):
        return _invalid("per_page", f"Write per_page as a whole number from 1 to {MAX_PER_PAGE}.")
    query = request.GET.get("q", "")[:200]
    found = search(CaughtMessage.objects.summaries(), query)
    start = (int(page) - 1) * int(per_page)
    rows = list(found[start : start + int(per_page)])
    return answer(
        {
            "total": search_count(CaughtMessage.objects.all(), query),
            "page": int(page),
            "per_page": int(per_page),
            "query": query,
            "messages": [summary(row) for row in rows],
        }
    )


@inbox_api("GET", "DELETE")
def message(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method == "DELETE":
        deleted, _ = CaughtMessage.objects.filter(pk=pk).delete()
        if not deleted:
            return error(404, "not_found", f"There is no caught message {pk}.")
        return answer({"deleted": deleted})
    found = _find(pk)
    return found if isinstance(found, HttpResponse) else answer(_detail(found))


@inbox_api("GET")
def source(request: HttpRequest, pk: int) -> HttpResponse:
    found = _find(pk)
    if isinstance(found, HttpResponse):
        return found
    raw = found.raw_slices([(0, found.size)])[0]
    name = decoding.safe_filename(found.subject, "message")[:80]
    return download(raw, "message/rfc822", f"{name}.eml")


@inbox_api("GET")
def attachment(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    found = _find(pk)
    if isinstance(found, HttpResponse):
        return found
    items = found.outline().attachments
    if not 0 <= index < len(items):
        return error(404, "not_found", f"Message {pk} has {len(items)} attachments; no {index}.")
    item = items[index]
    data = found.raw_slices([(item.span.start, item.span.end)])[0]
    return download(parsing.part_content(item, data), item.content_type, item.filename)


def _matching(request: HttpRequest) -> Q:
    condition = Q()
    if to := request.GET.get("to", "").strip()[:200]:
        condition &= Q(envelope_recipients__icontains=to) | Q(to_header__icontains=to)
    if subject := request.GET.get("subject", "").strip()[:200]:
        condition &= Q(subject__icontains=subject)
    return condition


@inbox_api("GET")
def wait(request: HttpRequest) -> HttpResponse:
    """The newest message matching ``to`` and ``subject`` (after id ``after``), as soon as there
    is one; 404 after ``timeout`` seconds. Looks for a new id, and only then for a match."""
    timeout = _number(request.GET.get("timeout"), DEFAULT_WAIT, 0, MAX_WAIT)
    if timeout is None:
        return _invalid("timeout", f"Write timeout as seconds from 0 to {MAX_WAIT:g}.")
    after = _number(request.GET.get("after"), 0, 0, 2**62)
    if after is None or after != int(after):
        return _invalid("after", "Write after as a message id: a whole number from 0.")
    if not _waits.acquire(blocking=False):
        return error(
            503,
            "too_many_waits",
            f"{MAX_WAITS} waits are running already; try again in a moment.",
            headers={"Retry-After": "1"},
        )
    try:
        return _wait(_matching(request), int(after), timeout)
    finally:
        _waits.release()


def _wait(condition: Q, seen: int, timeout: float) -> HttpResponse:
    deadline = time.monotonic() + timeout
    while True:
        latest = CaughtMessage.objects.aggregate(latest=Max("id"))["latest"] or 0
        if latest > seen:
            found = (
                CaughtMessage.objects.defer("raw")
                .filter(condition, id__gt=seen, id__lte=latest)
                .order_by("-id")
                .first()
            )
            if found is not None:
                return answer(_detail(found))
            seen = latest
        left = deadline - time.monotonic()
        if left <= 0:
            return error(
                404,
                "not_found",
                f"No matching message arrived within {timeout:g} seconds.",
                last_id=seen,
            )
        _pause(min(POLL_SECONDS, left))


@inbox_api("GET", public=True)
def openapi(request: HttpRequest) -> HttpResponse:
    return answer(description(request.build_absolute_uri("/"), MAX_PER_PAGE, MAX_WAIT))


@inbox_api("GET", "POST", "PUT", "PATCH", "DELETE", public=True)
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return error(
        404,
        "not_found",
        f"No inbox API at {request.path}; see /api/v1/inbox/openapi.json for what there is.",
    )
