"""Logging in, logging out, and first-run setup (the first administrator)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from postroom.accounts.forms import FirstAdministratorForm, LoginForm
from postroom.accounts.models import User


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def setup(request: HttpRequest) -> HttpResponse:
    if User.objects.exists():
        return redirect("backoffice:dashboard")
    form = FirstAdministratorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            if User.objects.exists():  # somebody else finished setup a moment ago
                return redirect("accounts:login")
            user = User.objects.create_superuser(
                form.cleaned_data["email"],
                form.cleaned_data["password"],
                name=form.cleaned_data["name"],
            )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to Postroom. You are the first administrator.")
        return redirect("backoffice:dashboard")
    return render(request, "accounts/setup.html", {"form": form})
