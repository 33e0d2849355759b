"""Template context shared by every backoffice page: environment and navigation.

Each app lists its screens in its AppConfig as ``navigation = ((label, url name, section,
position[, "administrators"]), ...)``; ``section`` is the URL namespace (or URL name) that
marks the item as current, and a fifth item "administrators" shows the entry to them only.
The backoffice collects them, so no app has to edit this file to appear. An app may also set
``navigation_counts = {url name: callable returning an int}``: a count shown next to its entry.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.apps import apps
from django.http import HttpRequest
from django.urls import reverse

from postroom import runtime


@cache
def navigation() -> list[tuple[str, str, str, bool]]:
    """(label, URL name, section, administrators only), in position order."""
    entries = []
    for config in apps.get_app_configs():
        entries.extend(getattr(config, "navigation", ()))
    entries.sort(key=lambda entry: entry[3])
    return [(e[0], e[1], e[2], tuple(e[4:]) == ("administrators",)) for e in entries]


@cache
def counters() -> dict[str, Callable[[], int]]:
    found: dict[str, Callable[[], int]] = {}
    for config in apps.get_app_configs():
        found.update(getattr(config, "navigation_counts", {}))
    return found


def _section(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    if match.namespace == "accounts" and (match.url_name or "").startswith("account"):
        return "account"  # your own account is not the Users screen
    if match.namespace and match.namespace != "backoffice":
        return match.namespace
    return match.url_name or ""


def backoffice(request: HttpRequest) -> dict[str, object]:
    section = _section(request)
    administrator = getattr(request.user, "is_administrator", False)
    counts = counters()
    items = [
        {
            "label": label,
            "url": reverse(name),
            "active": section == key,
            "count": counts[name]() if name in counts else None,
        }
        for label, name, key, administrators_only in navigation()
        if administrator or not administrators_only
    ]
    return {"postroom_environment": runtime.environment_name(), "nav_items": items}
