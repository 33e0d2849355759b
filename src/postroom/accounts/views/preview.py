"""Preview the invitation and password reset emails with sample values."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from postroom.accounts import config, emails
from postroom.accounts.models import User
from postroom.accounts.views.users import REASON
from postroom.core.links import MissingBaseUrl, absolute_link
from postroom.core.permissions import administrator_required

HTML_FRAME_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
KINDS = (("invitation", "Invitation"), ("password_reset", "Password reset"))
SAMPLE_TOKEN = "sample-token-shown-in-previews-only"  # noqa: S105 (not a secret)


def _sample_link(request: HttpRequest, path: str) -> str:
    try:
        return absolute_link(request, path)
    except MissingBaseUrl:  # the real email cannot be sent yet; the preview still shows it
        return "https://postroom.example" + path


def _sample(request: HttpRequest, kind: str) -> emails.RenderedEmail:
    if kind == "invitation":
        expiry, _ = config.invite_expiry()
        user = request.user
        inviter = f"{user.name} ({user.email})" if user.name else user.email
        return emails.render_invitation(
            name="Alex Example",
            email="alex@example.com",
            role_label=User.Role.EDITOR.label,
            inviter=inviter,
            message="Welcome aboard! You will look after the contact forms.\n"
            "Ask me if anything is unclear.",
            link=_sample_link(request, reverse("accounts:accept", args=[SAMPLE_TOKEN])),
            expiry=expiry,
        )
    if kind == "password_reset":
        return emails.render_password_reset(
            name="Alex Example",
            email="alex@example.com",
            link=_sample_link(
                request, reverse("accounts:password-reset-confirm", args=[SAMPLE_TOKEN])
            ),
        )
    raise Http404("There is no such email to preview.")


@administrator_required(reason=REASON)
@require_GET
def preview(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("email", "invitation")
    if kind not in dict(KINDS):
        kind = "invitation"
    view = "text" if request.GET.get("view") == "text" else "html"
    context = {
        "kinds": KINDS,
        "kind": kind,
        "view": view,
        "rendered": _sample(request, kind),
        "site_name": config.site_name(),
        "reset_allowed": config.password_reset_allowed(),
        "reset_available": config.password_reset_available(),
    }
    return render(request, "accounts/preview.html", context)


@administrator_required(reason=REASON)
@require_GET
@xframe_options_sameorigin
def preview_html(request: HttpRequest, kind: str) -> HttpResponse:
    """The HTML part alone, for the sandboxed frame: no scripts, no remote content."""
    response = HttpResponse(_sample(request, kind).html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = HTML_FRAME_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response
