"""Template context shared by every backoffice page: environment and navigation.

Each app lists its screens in its AppConfig as ``navigation = ((label, url name, section,
position), ...)``; ``section`` is the URL namespace (or URL name) that marks the item as
current. The backoffice collects them, so no app has to edit this file to appear.
"""

from __future__ import annotations

from functools import cache

from django.apps import apps
from django.http import HttpRequest
from django.urls import reverse

from postroom import runtime


@cache
def navigation() -> list[tuple[str, str, str]]:
    entries = []
    for config in apps.get_app_configs():
        entries.extend(getattr(config, "navigation", ()))
    return [
        (label, name, section) for label, name, section, _ in sorted(entries, key=lambda e: e[3])
    ]


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
        for label, name, key in navigation()
    ]
    return {"postroom_environment": runtime.environment_name(), "nav_items": items}
