"""Template context shared by every backoffice page: environment and navigation."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from postroom import runtime

# (label, URL name, URL namespace that marks the item as current). Later screens add theirs.
NAVIGATION = (
    ("Dashboard", "backoffice:dashboard", "dashboard"),
    ("Inbox", "inbox:list", "inbox"),
    ("Settings", "backoffice:settings", "settings"),
)


def _section(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    if match.namespace and match.namespace != "backoffice":
        return match.namespace
    return match.url_name or ""


def backoffice(request: HttpRequest) -> dict[str, object]:
    section = _section(request)
    items = [
        {"label": label, "url": reverse(name), "active": section == key}
        for label, name, key in NAVIGATION
    ]
    return {"postroom_environment": runtime.environment_name(), "nav_items": items}
