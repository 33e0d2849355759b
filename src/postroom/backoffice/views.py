from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.mail import EmailMessage
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from postroom import runtime
from postroom.backoffice import supervisor
from postroom.backoffice.forms import TestEmailForm
from postroom.config import Config, current_config
from postroom.core.permissions import administrator_required
from postroom.core.requests import INBOX_PORT_ENVIRON
from postroom.delivery import recipient_events
from postroom.delivery.alerts import current_problems
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import Kind, OutboxMessage
from postroom.delivery.policy import current_policy
from postroom.delivery.routing import current_route, describe_destination, test_email_refusal
from postroom.events.endpoints import endpoints


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    config = current_config()
    smtp = config.smtp
    since = timezone.now() - timedelta(hours=24)
    counts = dict(
        OutboxMessage.objects.filter(created_at__gte=since)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    held = OutboxMessage.objects.filter(status="held").count()
    relayed = OutboxMessage.objects.filter(
        created_at__gte=since, kind__in=(Kind.RELAY, Kind.API)
    ).count()
    problems = current_problems(current_policy())
    inbox_port = request.META.get(INBOX_PORT_ENVIRON)  # set by `serve --inbox-port`
    return render(
        request,
        "backoffice/dashboard.html",
        {
            "smtp": smtp,
            "config_errors": [p for p in config.errors if p.section != "smtp"],
            "route": current_route(smtp, inbox_port),
            "destination": describe_destination(smtp, inbox_port),
            "parts_restarting": _parts_restarting(),
            "counts": counts,
            "held": held,
            "relayed": relayed,
            "stuck_minutes": problems.oldest_queued_minutes,
            "suppressed_sign_ins": problems.suppressed_sign_ins,
            "queued": counts.get("queued", 0) + counts.get("sending", 0),
            "recent": OutboxMessage.objects.all()[:10],
            "rates": [
                recipient_events.rates(timedelta(hours=24), "Last 24 hours"),
                recipient_events.rates(timedelta(days=7), "Last 7 days"),
            ],
            "unmatched_count": recipient_events.unmatched_count(),
        },
    )


@administrator_required(reason="Only administrators can see the settings and send test emails.")
def settings_page(request: HttpRequest) -> HttpResponse:
    config = current_config()
    smtp = config.smtp
    form = TestEmailForm(request.POST or None, initial={"to": request.user.email})
    refusal = test_email_refusal(smtp)
    inbox_port = request.META.get(INBOX_PORT_ENVIRON)  # set by `serve --inbox-port`
    if request.method == "POST" and refusal:
        form.add_error(None, refusal)
    elif request.method == "POST" and form.is_valid():
        message = EmailMessage(
            subject="Postroom test email",
            body=(
                "This is a test email from Postroom.\n\n"
                f"It was sent by {request.user.email} from the Settings page, "
                f"and {describe_destination(smtp, inbox_port)}.\n"
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
            "config": config,
            "sections": _section_rows(config),
            "destination": describe_destination(smtp, inbox_port),
            "form": form,
            "files": _settings_files(),
            "site_dir": runtime.site_dir(),
            "environment": runtime.environment_name(),
            "event_endpoints": endpoints(request),
        },
    )


SECTION_TITLES = {
    "backup": "Backup SMTP connection",
    "delivery": "Delivery",
    "alerts": "Alerts",
    "security": "Security",
    "health": "Health checks",
    "events": "Provider events",
    "inbox": "Development inbox",
    "hosting": "Hosting (environment variables)",
}


def _section_rows(config: Config) -> list[tuple[str, list[tuple[str, object, str]]]]:
    """(title, [(key, value as shown, origin)]) for every section but SMTP; secrets masked."""
    listed = []
    for name, settings in config.sections()[1:]:
        rows = []
        for key, setting in settings:
            shown = setting.shown()
            if isinstance(shown, tuple):
                shown = ", ".join(shown) or "none"
            rows.append((key, shown, setting.origin or ""))
        listed.append((SECTION_TITLES[name], rows))
    return listed


def _settings_files() -> list[dict[str, object]]:
    """The files Postroom reads SMTP settings from, lowest precedence first."""
    site = runtime.site_dir()
    names = ["web.config", "appsettings.json", f"appsettings.{runtime.environment_name()}.json"]
    return [
        {"name": name, "path": site / name, "exists": (site / name).is_file()} for name in names
    ]


def _parts_restarting() -> list[dict[str, object]]:
    running = supervisor.current()
    if running is None:
        return []
    return [
        {"name": name, **status}
        for name, status in running.status().items()
        if status["state"] == supervisor.RESTARTING
    ]


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and monitors: the process answers and the database does.

    200 while the database answers, 503 when it does not. ``parts`` says, under `serve`, how
    the web, the worker and the catcher are doing; a part that is restarting makes the status
    ``degraded`` but not 503, since the backoffice itself still answers.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:
        database = "unavailable"
    running = supervisor.current()
    parts = running.status() if running is not None else {}
    if not request.user.is_authenticated:
        # Anyone may ask /healthz: strangers learn that a part failed and how, not the text.
        parts = {name: _error_kind_only(part) for name, part in parts.items()}
    if database != "ok":
        status = "database unavailable"
    elif any(part["state"] == supervisor.RESTARTING for part in parts.values()):
        status = "degraded"
    else:
        status = "ok"
    return JsonResponse(
        {"status": status, "database": database, "parts": parts},
        status=200 if database == "ok" else 503,
    )


def _error_kind_only(part: dict[str, object]) -> dict[str, object]:
    error = part.get("last_error")
    kind = str(error).split(":", 1)[0] if error else None
    return {**part, "last_error": kind}


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404: a visitor who followed a form link sees a page in the forms' style."""
    template = "forms/not_found.html" if request.path.startswith("/f/") else "404.html"
    context = {"request_path": request.path}
    return render(request, template, context, status=404)
