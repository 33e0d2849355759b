"""Inbox screens: the list of caught messages, one message, and its parts."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Max, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from postroom import runtime
from postroom.core.permissions import administrator_required
from postroom.core.requests import inbox_port
from postroom.emailview import decoding, parsing
from postroom.emailview.responses import download, sandboxed_html
from postroom.inbox import listing, search, totals
from postroom.inbox.models import CaughtMessage
from postroom.inbox.query import parse

# Caught mail holds everybody's invitation and password-reset links.
inbox_access = administrator_required(
    reason="Only administrators can open the development inbox: it holds everybody's sign-in links."
)

PAGE_SIZE = 50
SEARCH_COUNT_LIMIT = 1000  # a search's hits counted at most; beyond, "more than 1000"
RAW_DISPLAY_LIMIT = 1024 * 1024  # the Raw tab shows this much; the .eml download has it all
TABS = (("html", "HTML"), ("text", "Text"), ("headers", "Headers"), ("raw", "Raw source"))
QUERY_LIMIT = 200
# Preview widths of the HTML frame: (key, label, CSS width in px or None for the page's own).
WIDTHS = (("phone", "Phone", 375), ("tablet", "Tablet", 768), ("desktop", "Desktop", None))
BULK_ACTIONS = ("read", "unread", "delete")
# Shown as thumbnails: raster types every browser draws (SVG is left out: an <img> is safe,
# but a thumbnail is not worth a second look at a format that can carry script).
THUMBNAIL_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def _query(request: HttpRequest) -> str:
    return request.GET.get("q", "")[:QUERY_LIMIT]


def _keeping(query: str, **more: str) -> str:
    """A query string that keeps the search (and the message page's own choices)."""
    values = {"q": query, **more} if query else more
    values = {key: value for key, value in values.items() if value}
    return f"?{urlencode(values)}" if values else ""


def _smtp_address(request: HttpRequest) -> tuple[str, int]:
    return settings.POSTROOM_INBOX_HOST, inbox_port(request, settings.POSTROOM_INBOX_PORT)


class _CountedPaginator(Paginator):
    """A paginator told its count: counting every row on each page is what made it slow."""

    def __init__(self, object_list: QuerySet, per_page: int, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def _page(request: HttpRequest) -> tuple[str, Page, int | None]:
    """The search, the page asked for, and "more than N" when a search's count stopped at N.

    A search counts its hits up to SEARCH_COUNT_LIMIT or the page asked for, whichever is
    further: enough to say how many pages there are, or that there are more.
    """
    query = _query(request)
    messages_ = CaughtMessage.objects.summaries().search(query)
    number = request.GET.get("page", "")
    at_most = max(SEARCH_COUNT_LIMIT, int(number[:7]) * PAGE_SIZE if number.isdigit() else 0)
    count = search.count(CaughtMessage.objects.all(), query, at_most=at_most)
    searched = not parse(query).empty  # all messages are counted exactly, in the totals
    more_than = at_most if searched and count > at_most else None
    page = _CountedPaginator(messages_, PAGE_SIZE, count).get_page(number)
    return query, page, more_than


def _latest() -> dict[str, int]:
    stats = CaughtMessage.objects.aggregate(latest_id=Max("id"))
    return {"latest_id": stats["latest_id"] or 0, "count": totals.read().messages}


def _table_context(request: HttpRequest) -> dict[str, object]:
    query, page, more_than = _page(request)
    host, port = _smtp_address(request)
    return {
        "query": query,
        "keep_query": _keeping(query),
        "page": page,
        "rows": listing.rows(page),
        "more_than": more_than,
        "smtp_host": host,
        "smtp_port": port,
        **_latest(),
    }


@inbox_access
@require_GET
def message_list(request: HttpRequest) -> HttpResponse:
    catcher_on = runtime.is_development()
    return render(
        request,
        "inbox/list.html",
        {
            **_table_context(request),
            "catcher_on": catcher_on,
            "environment": runtime.environment_name(),
        },
    )


@inbox_access
@require_GET
@never_cache
def table(request: HttpRequest) -> HttpResponse:
    """The list's table alone, for the live update script."""
    return render(request, "inbox/_table.html", _table_context(request))


@inbox_access
@require_GET
@never_cache
def poll(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_latest())


def _stored(pk: int) -> tuple[CaughtMessage, parsing.Outline]:
    """The message without its raw bytes, and its outline: no page reads the whole message."""
    message = get_object_or_404(CaughtMessage.objects.defer("raw", "body_text"), pk=pk)
    return message, message.outline()


@inbox_access
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    message, found = _stored(pk)
    if message.read_at is None:  # opening a message reads it
        message.read_at = timezone.now()
        CaughtMessage.objects.filter(pk=pk, read_at__isnull=True).update(read_at=message.read_at)
    tabs = [(key, label) for key, label in TABS if key != "html" or found.html is not None]
    if found.attachments:
        tabs.append(("attachments", f"Attachments ({len(found.attachments)})"))
    keys = [key for key, _ in tabs]
    tab = request.GET.get("tab") or ("html" if found.html is not None else "text")
    if tab not in keys:
        tab = "text"
    query = _query(request)
    images = "1" if request.GET.get("images") == "1" else ""
    width = request.GET.get("width", "desktop")
    width = width if width in {key for key, _, _ in WIDTHS} else "desktop"
    newer, older = _neighbours(message, query)
    blind = set(found.blind_copies)
    context = {
        "message": message,
        "parsed": found,
        "envelope_recipients": [(r, r in blind) for r in message.recipients_list],
        "tabs": [(key, label, _keeping(query, tab=key)) for key, label in tabs],
        "tab": tab,
        "query": query,
        "keep_query": _keeping(query),
        "newer": newer,
        "older": older,
        "images": images,
        "images_toggle": _keeping(query, tab="html", images="" if images else "1", width=width),
        "html_src": _keeping("", images=images),
        "widths": [
            (key, label, px, _keeping(query, tab="html", images=images, width=key))
            for key, label, px in WIDTHS
        ],
        "width": width,
        "thumbnail_types": THUMBNAIL_TYPES,
        **_tab_content(message, found, tab),
    }
    return render(request, "inbox/detail.html", context)


def _neighbours(message: CaughtMessage, query: str) -> tuple[int | None, int | None]:
    """The ids of the newer and older messages around ``message`` in the (searched) list.

    Each is a seek in the list index: the plain range on received_at comes first, because a
    database uses no index for "later, or as late with a higher id" alone.
    """
    found = CaughtMessage.objects.search(query).values_list("id", flat=True)
    at, pk = message.received_at, message.pk
    newer = found.filter(Q(received_at__gt=at) | Q(id__gt=pk), received_at__gte=at)
    older = found.filter(Q(received_at__lt=at) | Q(id__lt=pk), received_at__lte=at)
    return newer.order_by("received_at", "id").first(), older.order_by(
        "-received_at", "-id"
    ).first()


def _tab_content(message: CaughtMessage, found: parsing.Outline, tab: str) -> dict[str, object]:
    """Only what the open tab shows, read from slices of the raw message."""
    if tab == "text" and found.text is not None:
        limit = decoding.fetch_limit(found.text, decoding.TEXT_LIMIT)
        text, cut = decoding.body_text(found.text, message.raw_slices([limit])[0])
        return {"text": text, "text_truncated": cut}
    if tab == "headers":
        end = min(found.header_end, decoding.HEADERS_LIMIT + 1)
        headers, cut = decoding.headers_list(message.raw_slices([(0, end)])[0])
        return {"headers": headers, "headers_truncated": cut}
    if tab == "raw":
        raw = message.raw_slices([(0, RAW_DISPLAY_LIMIT)])[0]
        return {
            "raw_text": raw.decode("utf-8", errors="replace"),
            "raw_truncated": message.size > RAW_DISPLAY_LIMIT,
        }
    return {}


@inbox_access
@require_GET
@xframe_options_sameorigin
def html_body(request: HttpRequest, pk: int) -> HttpResponse:
    """The HTML part, for the sandboxed frame: no scripts, no remote content."""
    message, found = _stored(pk)
    html = parsing.body_html(found, message.raw_slices)
    if html is None:
        raise Http404("This message has no HTML part.")
    return sandboxed_html(html, remote_images=request.GET.get("images") == "1")


@inbox_access
@require_GET
def attachment(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    message, found = _stored(pk)
    if not 0 <= index < len(found.attachments):
        raise Http404("No such attachment.")
    item = found.attachments[index]
    data = message.raw_slices([(item.span.start, item.span.end)])[0]
    return download(parsing.part_content(item, data), item.content_type, item.filename)


@inbox_access
@require_GET
def source(request: HttpRequest, pk: int) -> HttpResponse:
    """The whole message as an .eml file."""
    message = get_object_or_404(CaughtMessage, pk=pk)
    name = decoding.safe_filename(message.subject, "message")[:80]
    return download(bytes(message.raw), "message/rfc822", f"{name}.eml")


@inbox_access
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    deleted, _ = CaughtMessage.objects.filter(pk=pk).delete()
    if deleted:
        messages.success(request, "Message deleted.")
    else:
        messages.info(request, "That message was already deleted.")
    keep = _keeping(request.POST.get("q", "")[:QUERY_LIMIT])
    then = request.POST.get("then", "")
    if then.isdigit():  # on to the next message, as a mail client does
        return redirect(f"{reverse('inbox:detail', args=[int(then)])}{keep}")
    return redirect(f"{reverse('inbox:list')}{keep}")


@inbox_access
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Mark read, mark unread or delete the selected messages."""
    action = request.POST.get("action", "")
    ids = [int(value) for value in request.POST.getlist("id") if value.isdigit()][: PAGE_SIZE * 4]
    back = redirect(f"{reverse('inbox:list')}{_keeping(request.POST.get('q', '')[:QUERY_LIMIT])}")
    if action not in BULK_ACTIONS or not ids:
        messages.info(request, "Select messages first, then choose what to do with them.")
        return back
    chosen = CaughtMessage.objects.filter(pk__in=ids)
    if action == "delete":
        count, _ = chosen.delete()
        messages.success(request, f"Deleted {count} message{'s' if count != 1 else ''}.")
    else:
        count = chosen.update(read_at=timezone.now() if action == "read" else None)
        messages.success(request, f"Marked {count} message{'s' if count != 1 else ''} {action}.")
    return back


@inbox_access
@require_POST
def clear(request: HttpRequest) -> HttpResponse:
    deleted, _ = CaughtMessage.objects.all().delete()
    messages.success(request, f"Deleted {deleted} message{'s' if deleted != 1 else ''}.")
    return redirect("inbox:list")
