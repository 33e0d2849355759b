"""The email log: every message in the outbox, one message in detail, and what to do with them."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Max, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from postroom.core.permissions import administrator_required
from postroom.delivery import actions, log, recipient_events, sources
from postroom.delivery.models import Kind, OutboxMessage, Status
from postroom.emailview import parsing
from postroom.emailview.responses import download, sandboxed_html

RAW_DISPLAY_LIMIT = 1024 * 1024  # the Raw tab shows this much; the .eml download has it all
BULK_IDS_LIMIT = 500  # ticked rows come from one page of 50; more is not a real request
BULK_RESEND_LIMIT = 5000
TABS = (("html", "HTML"), ("text", "Text"), ("headers", "Headers"), ("raw", "Raw source"))
CANNOT_CANCEL = {
    Status.SENDING: "A worker is sending it right now, so it can no longer be cancelled.",
    Status.SENT: "It was already delivered to the server, so there is nothing to cancel.",
    Status.FAILED: "Delivery already gave up, so there is nothing to cancel.",
    Status.CANCELLED: "It was already cancelled.",
    Status.SUPPRESSED: "Its recipients are on the suppression list, so it was never sent.",
}


administrators_only = administrator_required(
    reason="Only administrators can change messages in the email log."
)

# These bodies hold a link that signs somebody in: only administrators may read them.
SIGN_IN_KINDS = (Kind.INVITE, Kind.PASSWORD_RESET)


def _readable_message(request: HttpRequest, pk: int) -> OutboxMessage:
    """The message, for a view that shows its body; 403 for sign-in links to non-administrators."""
    message = get_object_or_404(OutboxMessage, pk=pk)
    if _body_hidden(request, message):
        raise PermissionDenied(
            "This message holds a sign-in link for somebody else: only administrators can read it."
        )
    return message


def _body_hidden(request: HttpRequest, message: OutboxMessage) -> bool:
    return message.kind in SIGN_IN_KINDS and not request.user.is_administrator


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


# The list ------------------------------------------------------------------------------------


def _list_context(request: HttpRequest) -> dict[str, object]:
    query = log.log_query(request.GET)
    rows = query.messages.select_related("application").only(*log.LIST_FIELDS)
    page = Paginator(rows, log.PAGE_SIZE).get_page(request.GET.get("page"))
    total = page.paginator.count
    max_id = OutboxMessage.objects.aggregate(m=Max("id"))["m"] or 0
    return {
        "query": query,
        "form": query.form,
        "page": page,
        "total": total,
        "range_label": f"{page.start_index():,}–{page.end_index():,} of {total:,}",
        "total_label": f"{total:,}",
        "page_prefix": f"{query.querystring}&" if query.querystring else "",
        "current": request.GET.urlencode(),
        "max_id": max_id,
        "rows_version": log.rows_version(page.object_list, total, max_id),
    }


@login_required
@require_GET
def message_log(request: HttpRequest) -> HttpResponse:
    return render(request, "delivery/log.html", _list_context(request))


@login_required
@require_GET
@never_cache
def rows(request: HttpRequest) -> HttpResponse:
    """The list's rows alone, for the page's live update (same filters, same page)."""
    return render(request, "delivery/_log_rows.html", _list_context(request))


# One message ---------------------------------------------------------------------------------


@login_required
@require_GET
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    hidden = _body_hidden(request, message)
    raw = b"" if hidden else bytes(message.raw)
    can = {
        "can_cancel": message.status in actions.CANCELLABLE,
        "can_retry": actions.retryable(OutboxMessage.objects.filter(pk=pk)).exists(),
        "can_resend": bool(raw),
    }
    attempts = list(message.attempts.all())
    context: dict[str, object] = {
        "message": message,
        "attempts": attempts,
        "delivered_by": next((a.transport for a in reversed(attempts) if a.succeeded), ""),
        "retrying_at": _retrying_at(message),
        "source": sources.source_of(message),
        "next_attempt": message.attempt_count + 1,
        "recipients": _recipient_outcomes(message),
        "timeline": recipient_events.timeline(message),
        "purged": not raw and not hidden,
        "hidden": hidden,
        "can_act": any(can.values()),
        **can,
    }
    if raw:
        parsed = parsing.read(raw)
        tabs = [(key, label) for key, label in TABS if key != "html" or parsed.html is not None]
        tab = request.GET.get("tab") or tabs[0][0]
        if tab not in {key for key, _ in tabs}:
            tab = "text"
        context.update(
            attachments=[item for item in parsed.attachments if not item.inline],
            parsed=parsed,
            tabs=tabs,
            tab=tab,
            raw_text=raw[:RAW_DISPLAY_LIMIT].decode("utf-8", errors="replace"),
            raw_truncated=len(raw) > RAW_DISPLAY_LIMIT,
        )
    return render(request, "delivery/message.html", context)


def _retrying_at(message: OutboxMessage) -> object:
    """When a queued message that already failed once is tried again, else None."""
    waiting = message.status == Status.QUEUED and message.attempt_count > 0
    if waiting and message.next_attempt_at > timezone.now():
        return message.next_attempt_at
    return None


def _recipient_outcomes(message: OutboxMessage) -> list[dict[str, str]]:
    """Each envelope recipient with its field and what the server said about it."""
    rows = []
    seen = set()
    for field in ("to", "cc", "bcc"):
        for address in (a.strip() for a in getattr(message, field).split(",")):
            if not address or address in seen:
                continue
            seen.add(address)
            outcome = str(message.recipient_status.get(address, ""))
            rows.append({"address": address, "field": field.capitalize(), "outcome": outcome})
    return rows


@login_required
@require_GET
def message_status(request: HttpRequest, pk: int) -> JsonResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    return JsonResponse(
        {"status": message.status, "finished": message.is_finished, "reply": message.last_reply}
    )


@login_required
@require_GET
@xframe_options_sameorigin
def html_body(request: HttpRequest, pk: int) -> HttpResponse:
    """The HTML part, for the sandboxed frame: no scripts, no remote content."""
    message = _readable_message(request, pk)
    html = parsing.read(bytes(message.raw)).html if message.raw else None
    if html is None:
        raise Http404("This message has no HTML part.")
    return sandboxed_html(html)


@login_required
@require_GET
def attachment(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    message = _readable_message(request, pk)
    found = parsing.attachment_content(bytes(message.raw), index) if message.raw else None
    if found is None:
        raise Http404("This message has no such attachment (or its body was purged).")
    item, content = found
    return download(content, item.content_type, item.filename)


@login_required
@require_GET
def source(request: HttpRequest, pk: int) -> HttpResponse:
    """The message exactly as sent, as an .eml file."""
    message = _readable_message(request, pk)
    if not message.raw:
        raise Http404("The body of this message was purged.")
    name = parsing.safe_filename(message.subject, "message")[:80]
    return download(bytes(message.raw), "message/rfc822", f"{name}.eml")


# Actions on one message ----------------------------------------------------------------------


@administrators_only
@require_POST
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    copies = actions.resend([message])
    if not copies:
        messages.error(request, "The body of this message was purged, so it cannot be resent.")
        return redirect("delivery:message", pk=pk)
    messages.success(request, f"Queued a new copy of message #{pk}, with a new Message-ID.")
    return redirect("delivery:message", pk=copies[0].pk)


@administrators_only
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    if actions.cancel(OutboxMessage.objects.filter(pk=pk)):
        messages.success(request, "Cancelled: this message will not be sent.")
    else:
        message.refresh_from_db(fields=["status"])
        reason = CANNOT_CANCEL.get(message.status, "Only queued or held messages can be cancelled.")
        messages.error(request, f"Not cancelled. {reason}")
    return redirect("delivery:message", pk=pk)


@administrators_only
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    if actions.retry_now(OutboxMessage.objects.filter(pk=pk)):
        messages.success(request, "Queued to be sent now.")
    else:
        message.refresh_from_db(fields=["status"])
        messages.error(
            request,
            f"Not retried: the message is {message.get_status_display().lower()}. "
            "Only failed messages, or queued ones waiting for a later try, can be retried now.",
        )
    return redirect("delivery:message", pk=pk)


# Bulk actions --------------------------------------------------------------------------------


@administrators_only
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Cancel, retry or resend the ticked rows, or every row matching the list's filters."""
    back = QueryDict(request.POST.get("current", ""))
    destination = reverse("delivery:log") + (f"?{back.urlencode()}" if back else "")
    action = request.POST.get("action", "")
    if action not in BULK_ACTIONS:
        messages.error(request, "Choose Cancel, Retry now or Resend.")
        return redirect(destination)
    bad = _bad_id(request.POST)
    if bad is not None:
        # Only a tampered or garbled request gets here: the list only offers real ids.
        return HttpResponseBadRequest(
            f"“{bad[:40]}” is not a message number: ids are whole numbers from 1 to"
            f" {log.MAX_ID}. Go back to the email log, reload it and tick the messages again.",
            content_type="text/plain; charset=utf-8",
        )
    selected, problem = _bulk_selection(request.POST, back)
    if problem:
        messages.error(request, problem)
        return redirect(destination)
    level, text = BULK_ACTIONS[action](selected)
    getattr(messages, level)(request, text)
    return redirect(destination)


def _bad_id(data: QueryDict) -> str | None:
    """The first value given as a message id that cannot be one, if any."""
    given = data.getlist("ids")
    if data.get("scope") == "all":
        given = [data.get("max_id", "")]
    return next((value for value in given if log.parse_id(value) is None), None)


def _bulk_selection(
    data: QueryDict, filters: QueryDict
) -> tuple[QuerySet[OutboxMessage], str | None]:
    nothing = OutboxMessage.objects.none()
    if data.get("scope") == "all":
        query = log.log_query(filters)
        if query.has_errors:
            return nothing, "The filter has an error; fix it before acting on every match."
        max_id = log.parse_id(data.get("max_id"))
        # Messages queued after the list was shown are not part of what was chosen.
        return query.messages.filter(pk__lte=max_id), None
    ids = {log.parse_id(value) for value in data.getlist("ids")}
    if not ids:
        return nothing, "Tick at least one message, or choose every message matching the filter."
    if len(ids) > BULK_IDS_LIMIT:
        return nothing, f"Tick at most {BULK_IDS_LIMIT} messages, or use the filter instead."
    return OutboxMessage.objects.filter(pk__in=ids), None


def _bulk_outcome(done: str, count: int, total: int, only: str) -> tuple[str, str]:
    """The message after a bulk change: how many changed, and why the others did not."""
    text = f"{done} {_plural(count, 'message')}."
    skipped = max(total - count, 0)
    if skipped:
        text += f" {_plural(skipped, 'other')} left as they were: {only}"
    return ("success" if count else "warning"), text


def _bulk_cancel(selected: QuerySet[OutboxMessage]) -> tuple[str, str]:
    total = selected.count()  # before the update: the filter may be on the status
    count = actions.cancel(selected)
    return _bulk_outcome("Cancelled", count, total, "only queued or held mail can be cancelled.")


def _bulk_retry(selected: QuerySet[OutboxMessage]) -> tuple[str, str]:
    total = selected.count()
    count = actions.retry_now(selected, timezone.now())
    return _bulk_outcome(
        "Retried",
        count,
        total,
        "only failed mail, or queued mail waiting for a later try, can be retried.",
    )


def _bulk_resend(selected: QuerySet[OutboxMessage]) -> tuple[str, str]:
    total = selected.count()
    if total > BULK_RESEND_LIMIT:
        return "error", (
            f"Not resent: {total:,} messages is more than {BULK_RESEND_LIMIT:,} at once. "
            "Narrow the filter, for example by date."
        )
    copies = actions.resend(selected.order_by("id").iterator(chunk_size=actions.BULK_CREATE_BATCH))
    text = f"Resent {_plural(len(copies), 'message')} as new copies."
    if total - len(copies):
        text += f" {_plural(total - len(copies), 'other')} had their body purged and were skipped."
    return ("success" if copies else "warning"), text


BULK_ACTIONS: dict[str, Callable[[QuerySet[OutboxMessage]], tuple[str, str]]] = {
    "cancel": _bulk_cancel,
    "retry": _bulk_retry,
    "resend": _bulk_resend,
}
