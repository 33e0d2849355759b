"""The screen of unmatched events: what providers reported about mail Postroom cannot find."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from postroom.config import current_config
from postroom.delivery.recipient_events import unmatched as unmatched_events


@login_required
@require_GET
def unmatched(request: HttpRequest) -> HttpResponse:
    count, rows = unmatched_events()
    return render(
        request,
        "events/unmatched.html",
        {
            "count": count,
            "rows": rows,
            "keep_days": current_config().events.keep_unmatched_days.value,
        },
    )
