"""Cross-origin requests to a public form: only the origins listed on the form may read answers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from postroom.forms.models import Form

ALLOWED_METHODS = "POST, OPTIONS"
ALLOWED_HEADERS = "Accept, Content-Type, X-Requested-With"
PREFLIGHT_MAX_AGE = "600"


def request_origin(request: HttpRequest) -> str:
    return request.headers.get("Origin", "").strip().rstrip("/")


def is_cross_origin(request: HttpRequest) -> bool:
    origin = request_origin(request)
    if not origin:
        return False  # same-origin navigations and non-browser clients send none
    if origin == "null":
        return True  # a sandboxed frame or a local file
    own = f"{request.scheme}://{request.get_host()}"
    return origin.lower() != own.lower()


def is_allowed(form: Form, origin: str) -> bool:
    return bool(origin) and origin.lower() in {o.lower() for o in form.origins}


def add_headers(response: HttpResponse, form: Form, request: HttpRequest) -> HttpResponse:
    """Allow the request's origin to read ``response`` if the form lists it."""
    response["Vary"] = _vary(response, "Origin")
    origin = request_origin(request)
    if is_cross_origin(request) and is_allowed(form, origin):
        response["Access-Control-Allow-Origin"] = origin
    return response


def preflight(form: Form, request: HttpRequest) -> HttpResponse:
    response = HttpResponse(status=204)
    response["Vary"] = _vary(response, "Origin")
    origin = request_origin(request)
    if is_allowed(form, origin):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response


def _vary(response: HttpResponse, header: str) -> str:
    existing = [h.strip() for h in response.get("Vary", "").split(",") if h.strip()]
    if header not in existing:
        existing.append(header)
    return ", ".join(existing)
