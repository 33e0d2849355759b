"""Checks on a caught message (its HTML and its links), and releasing it to a real server."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from postroom.delivery import release as releasing
from postroom.delivery.routing import current_route
from postroom.emailview import parsing
from postroom.emailview.decoding import TEXT_LIMIT, body_text, fetch_limit
from postroom.inbox import htmlcheck, linkcheck
from postroom.inbox.models import CaughtMessage
from postroom.inbox.views import inbox_access


def _bodies(message: CaughtMessage) -> tuple[str | None, int, str | None]:
    """(HTML, its decoded size in bytes, text) of a message, read from slices of the raw."""
    found = message.outline()
    ranges = []
    if found.html is not None:
        ranges.append(
            (found.html.start, min(found.html.end, found.html.start + parsing.HTML_LIMIT))
        )
    if found.text is not None:
        ranges.append(fetch_limit(found.text, TEXT_LIMIT))
    data = iter(message.raw_slices(ranges))
    html, size, text = None, 0, None
    if found.html is not None:
        html, _ = body_text(found.html, next(data), parsing.HTML_LIMIT)
        size = len(html.encode("utf-8"))
    if found.text is not None:
        text, _ = body_text(found.text, next(data))
    return html, size, text


@inbox_access
@require_http_methods(["GET", "POST"])
def checks(request: HttpRequest, pk: int) -> HttpResponse:
    """The HTML findings and the links; a POST checks every web link and shows the statuses."""
    message = get_object_or_404(CaughtMessage.objects.defer("raw"), pk=pk)
    html, size, text = _bodies(message)
    found = htmlcheck.links(html, text)
    statuses: dict[str, linkcheck.LinkStatus] = {}
    checked = request.method == "POST"
    if checked:
        web = [link.url for link in found if htmlcheck.is_checkable(link.url)]
        statuses = {status.url: status for status in linkcheck.check_links(web)}
    rows = [(link, statuses.get(link.url), htmlcheck.is_checkable(link.url)) for link in found]
    checkable = sum(1 for _link, _status, web in rows if web)
    context = {
        "message": message,
        "findings": htmlcheck.check_html(html, has_text=text is not None, html_bytes=size),
        "has_html": html is not None,
        "rows": rows,
        "checked": checked,
        "checkable": checkable,
        "beyond_limit": max(checkable - linkcheck.MAX_LINKS, 0),
        "broken": sum(1 for status in statuses.values() if not status.ok),
        "limits": linkcheck,
    }
    return render(request, "inbox/checks.html", context)


@inbox_access
@require_http_methods(["GET", "POST"])
def release(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a caught message on through the configured SMTP server, after a confirmation."""
    message = get_object_or_404(CaughtMessage.objects.defer("raw"), pk=pk)
    refusal = releasing.release_refusal()
    given = request.POST.get("recipients", message.envelope_recipients)[:5000]
    problem = None
    if request.method == "POST" and refusal is None:
        recipients, problem = releasing.parse_recipients(given)
        if problem is None:
            raw = CaughtMessage.objects.filter(pk=pk).values_list("raw", flat=True).first()
            row = releasing.release(bytes(raw or b""), message.envelope_sender, recipients)
            messages.success(
                request,
                f"Released to {', '.join(recipients)}: queued as message #{row.pk} of the email"
                " log, to be sent through the configured SMTP server.",
            )
            return redirect(reverse("delivery:message", args=[row.pk]))
    route = current_route()
    context = {
        "message": message,
        "refusal": refusal,
        "recipients": given,
        "problem": problem,
        "route": route.description if route and not refusal else "",
    }
    return render(request, "inbox/release.html", context, status=400 if problem else 200)
