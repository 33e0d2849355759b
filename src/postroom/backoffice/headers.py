"""Content-Security-Policy on every response (Django 5.2 has no CSP middleware of its own).

Pages load scripts, styles and images from Postroom's own origin only: no inline script and no
``on...=`` handler runs, so text that slips into a page cannot become code. Nothing may frame a
page (``frame-ancestors 'none'``), except the views marked ``@xframe_options_sameorigin`` (the
sandboxed HTML of a message, the form preview), which Postroom's own pages may frame.

A view that sets its own policy (the sandboxed message bodies, downloads) keeps it unchanged;
its framing is decided by X-Frame-Options, which those views set to SAMEORIGIN.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"
POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
    ]
)


def frame_ancestors(response: HttpResponse) -> str:
    """'self' for responses that opted into same-origin framing, else 'none'."""
    same_origin = response.get("X-Frame-Options", "").upper() == "SAMEORIGIN"
    return "frame-ancestors 'self'" if same_origin else "frame-ancestors 'none'"


class ContentSecurityPolicyMiddleware:
    """Place it before XFrameOptionsMiddleware in MIDDLEWARE: it reads that one's decision."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.DEBUG and response.status_code >= 400:
            return response  # Django's debug error pages style themselves inline
        if HEADER not in response:
            response[HEADER] = f"{POLICY}; {frame_ancestors(response)}"
        return response
