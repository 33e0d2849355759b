from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from postroom.delivery.models import OutboxMessage


@login_required
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    return render(
        request,
        "delivery/message.html",
        {"message": message, "attempts": message.attempts.all()},
    )


@login_required
def message_status(request: HttpRequest, pk: int) -> JsonResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    return JsonResponse(
        {"status": message.status, "finished": message.is_finished, "reply": message.last_reply}
    )
