from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.mail import EmailMessage
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from postroom import runtime
from postroom.backoffice.forms import TestEmailForm
from postroom.core.permissions import administrator_required
from postroom.delivery.alerts import current_problems
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import Kind, OutboxMessage
from postroom.delivery.policy import current_policy
from postroom.delivery.routing import current_route, describe_destination
from postroom.mailsettings import current_smtp_settings


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    smtp = current_smtp_settings()
    since = timezone.now() - timedelta(hours=24)
    counts = dict(
        OutboxMessage.objects.filter(created_at__gte=since)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    held = OutboxMessage.objects.filter(status="held").count()
    problems = current_problems(current_policy())
    return render(
        request,
        "backoffice/dashboard.html",
        {
            "smtp": smtp,
            "route": current_route(smtp),
            "destination": describe_destination(smtp),
            "counts": counts,
            "held": held,
            "stuck_minutes": problems.oldest_queued_minutes,
            "queued": counts.get("queued", 0) + counts.get("sending", 0),
            "recent": OutboxMessage.objects.all()[:10],
        },
    )


@administrator_required(reason="Only administrators can see the settings and send test emails.")
def settings_page(request: HttpRequest) -> HttpResponse:
    smtp = current_smtp_settings()
    form = TestEmailForm(request.POST or None, initial={"to": request.user.email})
    if request.method == "POST" and form.is_valid():
        message = EmailMessage(
            subject="Postroom test email",
            body=(
                "This is a test email from Postroom.\n\n"
                f"It was sent by {request.user.email} from the Settings page, "
                f"and {describe_destination(smtp)}.\n"
            ),
            to=[form.cleaned_data["to"]],
        )
        queued = enqueue(message, kind=Kind.TEST)
        return redirect("delivery:message", pk=queued.pk)
    return render(
        request,
        "backoffice/settings.html",
        {
            "smtp": smtp,
            "destination": describe_destination(smtp),
            "form": form,
            "files": _settings_files(),
            "site_dir": runtime.site_dir(),
            "environment": runtime.environment_name(),
        },
    )


def _settings_files() -> list[dict[str, object]]:
    """The files Postroom reads SMTP settings from, lowest precedence first."""
    site = runtime.site_dir()
    names = ["web.config", "appsettings.json", f"appsettings.{runtime.environment_name()}.json"]
    return [
        {"name": name, "path": site / name, "exists": (site / name).is_file()} for name in names
    ]


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers and monitors: the process answers and the database does."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
