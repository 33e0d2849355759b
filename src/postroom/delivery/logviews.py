"""More on the email log: its filtered rows as CSV, and resending one message to another
address."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from postroom.core.permissions import administrator_required
from postroom.delivery import log, logexport, release
from postroom.delivery.models import Kind, OutboxMessage

SIGN_IN_KINDS = (Kind.INVITE, Kind.PASSWORD_RESET)


@login_required
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    """Every row the list's filters select (not only the page shown), newest first."""
    query = log.log_query(request.GET)
    rows = query.messages.only(*logexport.FIELDS).iterator(chunk_size=logexport.CHUNK_SIZE)
    name = f"email-log-{timezone.now():%Y%m%d-%H%M}.csv"
    response = StreamingHttpResponse(logexport.csv_lines(rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@administrator_required(reason="Only administrators can resend messages from the email log.")
@require_POST
def resend_to(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    if message.kind in SIGN_IN_KINDS:
        messages.error(
            request,
            "Not resent: this message holds a sign-in link meant for its recipient only. "
            "Send a new invitation or password reset to the other address instead.",
        )
        return redirect("delivery:message", pk=pk)
    recipients, problem = release.parse_recipients(request.POST.get("to", "")[:5000])
    if problem:
        messages.error(request, f"Not resent. {problem}")
        return redirect("delivery:message", pk=pk)
    copy = release.resend_to(message, recipients)
    if copy is None:
        messages.error(request, "The body of this message was purged, so it cannot be resent.")
        return redirect("delivery:message", pk=pk)
    messages.success(
        request,
        f"Queued a copy of message #{pk} to {', '.join(recipients)}, with a new Message-ID.",
    )
    return redirect("delivery:message", pk=copy.pk)
