"""Resetting a forgotten password (public pages). Off by default; see accounts.resets."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache

from postroom.accounts import config, resets
from postroom.accounts.forms import ForgotPasswordForm, PasswordPairForm
from postroom.accounts.views.public import render_public

LINK_PROBLEMS = {
    resets.EXPIRED: (
        "This password reset link has expired",
        "Reset links work for one hour.",
    ),
    resets.USED: (
        "This password reset link was already used",
        "Each link works once; the password was changed with it, or with a newer link.",
    ),
    resets.UNKNOWN: (
        "This password reset link is not valid",
        "No reset has this link. Perhaps only part of it was copied from the email.",
    ),
}


def _unavailable(request: HttpRequest) -> HttpResponse | None:
    """The plain refusal when resetting is switched off (404) or email cannot be sent (503)."""
    if not config.password_reset_allowed():
        context = {
            "what": "This site does not let people reset a forgotten password by email.",
            "todo": "Ask an administrator for help.",
        }
        return render_public(
            request, "unavailable", "Password reset is switched off", context, status=404
        )
    if not config.password_reset_available():
        context = {
            "what": "This site cannot send email yet, so no reset link can reach you.",
            "todo": "Ask an administrator for help, or try again later.",
        }
        return render_public(
            request, "unavailable", "Password reset is not available now", context, status=503
        )
    return None


def forgot(request: HttpRequest) -> HttpResponse:
    refusal = _unavailable(request)
    if refusal is not None:
        return refusal
    form = ForgotPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            resets.request_reset(form.cleaned_data["email"], request)
        except resets.TooManyRequests as error:
            context = {"what": str(error)}
            return render_public(request, "unavailable", "Too many requests", context, status=429)
        return redirect("accounts:password-reset-sent")
    return render_public(request, "forgot", "Forgot your password?", {"form": form})


def sent(request: HttpRequest) -> HttpResponse:
    refusal = _unavailable(request)
    if refusal is not None:
        return refusal
    return render_public(request, "forgot_sent", "Check your email")


@never_cache
def reset(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the form and uses nothing up; POST sets the password."""
    if not config.password_reset_allowed():
        return _unavailable(request) or HttpResponse(status=404)
    found = resets.find(token)
    current = resets.state(found)
    if found is None or current != resets.VALID:
        title, what = LINK_PROBLEMS[current]
        context = {
            "what": what,
            "todo": "Ask for a new link below."
            if config.password_reset_available()
            else "Ask an administrator for help.",
            "forgot": config.password_reset_available(),
        }
        status = 404 if current == resets.UNKNOWN else 410
        return render_public(request, "link_problem", title, context, status=status, private=True)
    form = PasswordPairForm(request.POST or None, user=found.user)
    if request.method == "POST" and form.is_valid():
        user = resets.complete(token, form.cleaned_data["password"])
        if user is None:  # used or expired between the form and now
            return redirect("accounts:password-reset-confirm", token=token)
        messages.success(
            request,
            "Your password was changed, and every other session was logged out. "
            "Log in with the new password.",
        )
        return redirect(f"{reverse('accounts:login')}?{urlencode({'email': user.email})}")
    context = {"form": form, "target": found.user}
    return render_public(request, "reset", "Choose a new password", context, private=True)
