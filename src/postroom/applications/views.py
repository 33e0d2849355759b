"""The Applications screen (administrators): create, list, change, disable, rotate, delete."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from postroom.applications import credentials
from postroom.applications.forms import ApplicationForm, RotateForm
from postroom.applications.models import Application
from postroom.core.permissions import administrator_required

REASON = "Only administrators can manage the applications that send through Postroom."


def _secret_page(request: HttpRequest, application: Application, secret: str, verb: str):
    """The one time a secret is shown: never cached, never stored in the session."""
    response = render(
        request,
        "applications/secret.html",
        {
            "application": application,
            "secret": secret,
            "verb": verb,
            "host": request.get_host().rsplit(":", 1)[0],
            "api_url": request.build_absolute_uri("/api/v1/messages"),
            "sender": _example_sender(application),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


def _example_sender(application: Application) -> str:
    for entry in application.allowed_senders:
        if "@" in entry:
            return entry
        if entry != "*":
            return f"noreply@{entry}"
    return "noreply@example.org"


@administrator_required(reason=REASON)
def application_list(request: HttpRequest) -> HttpResponse:
    rows = Application.objects.annotate(message_count=Count("messages"))
    return render(request, "applications/list.html", {"rows": rows})


@never_cache
@administrator_required(reason=REASON)
def create(request: HttpRequest) -> HttpResponse:
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        application, secret = credentials.create_application(
            data["name"],
            data["allowed_senders"],
            client_networks=data["client_networks"],
            trusted_network_no_login=data["trusted_network_no_login"],
            rate_limit_per_minute=data["rate_limit_per_minute"],
        )
        return _secret_page(request, application, secret, "created")
    return render(request, "applications/create.html", {"form": form})


@administrator_required(reason=REASON)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(Application, pk=pk)
    form = ApplicationForm(request.POST or None, instance=application)
    if request.method == "POST" and form.is_valid():
        for name, value in form.cleaned_data.items():
            setattr(application, name, value)
        application.save()
        messages.success(request, f"{application.name} is saved.")
        return redirect("applications:detail", pk=application.pk)
    now = timezone.now()
    secrets = [{"row": row, "valid": row.is_valid(now)} for row in application.secrets.all()[:10]]
    return render(
        request,
        "applications/detail.html",
        {
            "application": application,
            "form": form,
            "rotate_form": RotateForm(),
            "secrets": secrets,
            "message_count": application.messages.count(),
        },
    )


@administrator_required(reason=REASON)
@require_POST
def set_enabled(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(Application, pk=pk)
    application.enabled = request.POST.get("enabled") == "1"
    application.save(update_fields=["enabled"])
    state = "enabled" if application.enabled else "disabled: its secrets no longer work"
    messages.success(request, f"{application.name} is {state}.")
    return redirect("applications:detail", pk=application.pk)


@never_cache
@administrator_required(reason=REASON)
@require_POST
def rotate(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(Application, pk=pk)
    form = RotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how long the old secret keeps working.")
        return redirect("applications:detail", pk=application.pk)
    secret = credentials.rotate(application, form.cleaned_data["grace"])
    return _secret_page(request, application, secret, "rotated")


@administrator_required(reason=REASON)
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(Application, pk=pk)
    if request.method == "POST":
        name = application.name
        application.delete()
        messages.success(request, f"{name} is deleted; its mail stays in the email log.")
        return redirect("applications:list")
    return render(request, "applications/delete.html", {"application": application})
