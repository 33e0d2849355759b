"""Every URL of the backoffice, found by walking the URL configuration."""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver

INT_PARAM = re.compile(r"<int:(\w+)>")
ANY_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def all_routes() -> Iterator[str]:
    """Every route, e.g. ``/forms/<int:pk>/fields/<int:field_id>/``."""

    def walk(patterns, prefix: str) -> Iterator[str]:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                yield route

    yield from walk(get_resolver().url_patterns, "/")


def int_routes() -> Iterator[tuple[str, list[str]]]:
    """Every route with an ``<int:...>`` part: (route, names of its int parts)."""
    for route in all_routes():
        names = INT_PARAM.findall(route)
        if names:
            yield route, names


def fill(route: str, values: dict[str, str]) -> str:
    return ANY_PARAM.sub(lambda match: str(values[match[2]]), route)
