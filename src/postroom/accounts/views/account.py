"""Your own account: your name, your password and where you are signed in."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from postroom.accounts.forms import ChangePasswordForm, NameForm
from postroom.accounts.sessions import end_sessions, open_sessions
from postroom.core import ratelimit

# Guessing the current password from a session left open is limited like a login.
PASSWORD_TRIES_PER_HOUR = 10
TRIES_SCOPE = "account-password"
TRIES_WINDOW = timedelta(hours=1)


def _page(
    request: HttpRequest,
    name_form: NameForm | None = None,
    password_form: ChangePasswordForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    current = request.session.session_key
    sessions = [{"session": s, "current": s.key == current} for s in open_sessions(user.pk)]
    context = {
        "name_form": name_form or NameForm(initial={"name": user.name}),
        "password_form": password_form or ChangePasswordForm(user=user),
        "sessions": sessions,
        "others": sum(1 for s in sessions if not s["current"]),
    }
    return render(request, "accounts/account.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def account(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def change_name(request: HttpRequest) -> HttpResponse:
    form = NameForm(request.POST)
    if not form.is_valid():
        return _page(request, name_form=form, status=400)
    request.user.name = form.cleaned_data["name"]
    request.user.save(update_fields=["name"])
    messages.success(request, "Your name was changed.")
    return redirect("accounts:account")


@login_required
@require_POST
def change_password(request: HttpRequest) -> HttpResponse:
    user = request.user
    key = (str(user.pk),)
    tries = ratelimit.peek(TRIES_SCOPE, key)
    if tries is not None and tries.count >= PASSWORD_TRIES_PER_HOUR:
        messages.error(
            request,
            "Too many wrong current passwords: try again in an hour, or log out and "
            "use “Forgot your password?”.",
        )
        return redirect("accounts:account")
    form = ChangePasswordForm(request.POST, user=user)
    if not form.is_valid():
        if "current_password" in form.errors:
            ratelimit.hit(TRIES_SCOPE, key, TRIES_WINDOW)
        return _page(request, password_form=form, status=400)
    user.set_password(form.cleaned_data["password"])
    user.save(update_fields=["password"])
    update_session_auth_hash(request, user)  # this session stays signed in
    ended = end_sessions(user.pk, keep=request.session.session_key)
    others = f" and signed out of {ended} other session{'s' if ended != 1 else ''}" if ended else ""
    messages.success(request, f"Your password was changed{others}.")
    return redirect("accounts:account")


@login_required
@require_POST
def sign_out_elsewhere(request: HttpRequest) -> HttpResponse:
    ended = end_sessions(request.user.pk, keep=request.session.session_key)
    if ended:
        messages.success(
            request, f"Signed out of {ended} other session{'s' if ended != 1 else ''}."
        )
    else:
        messages.info(request, "You were not signed in anywhere else.")
    return redirect("accounts:account")
