"""Pages for people who are not logged in (invitees, forgotten passwords)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from postroom.accounts import config


def render_public(
    request: HttpRequest,
    body: str,
    title: str,
    context: dict[str, object] | None = None,
    status: int = 200,
    private: bool = False,
) -> HttpResponse:
    """Render ``accounts/_{body}.html`` in the logged-out layout (or a card when logged in).

    ``private`` pages have a token in their address: not cached, never sent as a referrer to
    other sites ("no-referrer" would make browsers send "Origin: null", which fails CSRF).
    """
    values = {"body": f"accounts/_{body}.html", "title": title, "site_name": config.site_name()}
    response = render(request, "accounts/public.html", {**values, **(context or {})}, status=status)
    if private:
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "same-origin"
    return response
