"""Inbox screens: the list of caught messages, one message, and its parts."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from postroom.core.permissions import administrator_required
from postroom.emailview import parsing
from postroom.emailview.responses import download, sandboxed_html
from postroom.inbox.models import CaughtMessage

# Caught mail holds everybody's invitation and password-reset links.
inbox_access = administrator_required(
    reason="Only administrators can open the development inbox: it holds everybody's sign-in links."
)

PAGE_SIZE = 50
RAW_DISPLAY_LIMIT = 1024 * 1024  # the Raw tab shows this much; the .eml download has it all
TABS = (("html", "HTML"), ("text", "Text"), ("headers", "Headers"), ("raw", "Raw source"))


def _smtp_address() -> tuple[str, int]:
    return settings.POSTROOM_INBOX_HOST, settings.POSTROOM_INBOX_PORT


def _page(request: HttpRequest) -> tuple[str, Page]:
    query = request.GET.get("q", "")[:200]
    messages_ = CaughtMessage.objects.summaries().search(query)
    return query, Paginator(messages_, PAGE_SIZE).get_page(request.GET.get("page"))


def _latest() -> dict[str, int]:
    stats = CaughtMessage.objects.aggregate(latest_id=Max("id"))
    return {"latest_id": stats["latest_id"] or 0, "count": CaughtMessage.objects.count()}


def _table_context(request: HttpRequest) -> dict[str, object]:
    query, page = _page(request)
    host, port = _smtp_address()
    return {"query": query, "page": page, "smtp_host": host, "smtp_port": port, **_latest()}


@inbox_access
@require_GET
def message_list(request: HttpRequest) -> HttpResponse:
    return render(request, "inbox/list.html", _table_context(request))


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


@inbox_access
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(CaughtMessage, pk=pk)
    raw = bytes(message.raw)
    parsed = parsing.read(raw)
    tabs = [(key, label) for key, label in TABS if key != "html" or parsed.html is not None]
    if parsed.attachments:
        tabs.append(("attachments", f"Attachments ({len(parsed.attachments)})"))
    keys = [key for key, _ in tabs]
    tab = request.GET.get("tab") or ("html" if parsed.html is not None else "text")
    if tab not in keys:
        tab = "text"
    visible = f"{parsed.to_header} {parsed.cc_header}".lower()
    context = {
        "message": message,
        "parsed": parsed,
        "envelope_recipients": [(r, r.lower() not in visible) for r in message.recipients_list],
        "tabs": tabs,
        "tab": tab,
        "raw_text": raw[:RAW_DISPLAY_LIMIT].decode("utf-8", errors="replace"),
        "raw_truncated": len(raw) > RAW_DISPLAY_LIMIT,
    }
    return render(request, "inbox/detail.html", context)


@inbox_access
@require_GET
@xframe_options_sameorigin
def html_body(request: HttpRequest, pk: int) -> HttpResponse:
    """The HTML part, for the sandboxed frame: no scripts, no remote content."""
    message = get_object_or_404(CaughtMessage, pk=pk)
    html = parsing.read(bytes(message.raw)).html
    if html is None:
        raise Http404("This message has no HTML part.")
    return sandboxed_html(html)


@inbox_access
@require_GET
def attachment(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    message = get_object_or_404(CaughtMessage, pk=pk)
    found = parsing.attachment_content(bytes(message.raw), index)
    if found is None:
        raise Http404("No such attachment.")
    info, content = found
    return download(content, info.content_type, info.filename)


@inbox_access
@require_GET
def source(request: HttpRequest, pk: int) -> HttpResponse:
    """The whole message as an .eml file."""
    message = get_object_or_404(CaughtMessage, pk=pk)
    name = parsing.safe_filename(message.subject, "message")[:80]
    return download(bytes(message.raw), "message/rfc822", f"{name}.eml")


@inbox_access
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    deleted, _ = CaughtMessage.objects.filter(pk=pk).delete()
    if deleted:
        messages.success(request, "Message deleted.")
    else:
        messages.info(request, "That message was already deleted.")
    return redirect("inbox:list")


@inbox_access
@require_POST
def clear(request: HttpRequest) -> HttpResponse:
    deleted, _ = CaughtMessage.objects.all().delete()
    messages.success(request, f"Deleted {deleted} message{'s' if deleted != 1 else ''}.")
    return redirect("inbox:list")
