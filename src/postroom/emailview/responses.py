"""HTTP responses that serve parts of an email without letting them act in the backoffice."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.http import content_disposition_header

# The HTML part runs in a sandboxed frame: no scripts, forms, plugins or navigation of the page,
# no remote content, inline images only. ``allow-same-origin`` without ``allow-scripts`` lets
# the backoffice's own script measure the frame (frames.js sizes it to its content) and gives
# the mail nothing: with scripts off, nothing in it can use the origin it is given.
_SANDBOX = "sandbox allow-same-origin; default-src 'none'; script-src 'none'"
HTML_FRAME_CSP = f"{_SANDBOX}; img-src data: cid:; style-src 'unsafe-inline'"
# When the reader asks to see a message's remote images (they tell the sender it was opened).
HTML_FRAME_CSP_REMOTE_IMAGES = (
    f"{_SANDBOX}; img-src data: cid: https: http:; style-src 'unsafe-inline'"
)


def sandboxed_html(html: str, *, remote_images: bool = False) -> HttpResponse:
    """For ``<iframe sandbox>``; pair the view with ``@xframe_options_sameorigin``."""
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = (
        HTML_FRAME_CSP_REMOTE_IMAGES if remote_images else HTML_FRAME_CSP
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response


def download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    """A file the browser saves rather than shows (attachments, .eml sources)."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
