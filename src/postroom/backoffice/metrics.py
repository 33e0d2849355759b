"""``GET /metrics``: Prometheus metrics for monitoring, guarded without a session.

- With ``POSTROOM_METRICS_TOKEN`` set, a request must carry ``Authorization: Bearer <token>``
  (compared in constant time), from any address.
- Without it, only loopback may ask, and only directly: a request that came through a proxy
  (``Forwarded``/``X-Forwarded-For``/``X-Real-IP``) is refused, since a reverse proxy on the
  same machine would otherwise open the metrics to everyone.

No login, no session, no CSRF: monitoring systems send a GET with a header and nothing else.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from postroom.config import current_config
from postroom.delivery.metrics import registry

PROXY_HEADERS = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP")
PLAIN = "text/plain; charset=utf-8"


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    token = current_config().hosting.metrics_token.value
    if token is not None:
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), token.reveal().encode()
        ):
            return None
        response = HttpResponse(
            "The metrics need the token: send Authorization: Bearer <POSTROOM_METRICS_TOKEN>.\n",
            status=401,
            content_type=PLAIN,
        )
        response["WWW-Authenticate"] = 'Bearer realm="postroom-metrics"'
        return response
    if _is_loopback(request.META.get("REMOTE_ADDR", "")) and not any(
        header in request.META for header in PROXY_HEADERS
    ):
        return None
    return HttpResponse(
        "The metrics answer only on this machine (loopback) unless POSTROOM_METRICS_TOKEN is"
        " set; then send Authorization: Bearer <token>.\n",
        status=403,
        content_type=PLAIN,
    )


def _is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 from a dual-stack socket
    return (mapped or ip).is_loopback
