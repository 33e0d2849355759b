"""Sends every backoffice request to the setup page until the first administrator exists."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from postroom.accounts.models import User

# Paths that work before setup: the setup page itself, static files, the probes, the
# metrics (guarded by loopback or a token), the providers' signed webhooks (which need no user)
# and the API (its applications may come from `postroom apps create` before anyone signs in).
OPEN_PREFIXES = ("/setup/", "/static/", "/favicon.ico", "/healthz", "/metrics", "/events/", "/api/")


class FirstRunSetupMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.setup_done = False  # once true it stays true: users are never all removed

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.setup_done:
            self.setup_done = User.objects.exists()
            if not self.setup_done and not request.path.startswith(OPEN_PREFIXES):
                return redirect("accounts:setup")
        return self.get_response(request)
