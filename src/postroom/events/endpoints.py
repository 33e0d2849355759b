"""Each provider's endpoint as the Settings page lists it: the URL to paste at the provider."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse

from postroom.core import links
from postroom.events.providers import PROVIDERS


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    configured: bool
    key: str
    how: str


def endpoints(request: HttpRequest | None) -> list[Endpoint]:
    """Every provider's URL (absolute when the base address is known) and whether it is on."""
    base = links.base_url_or_paths(request)
    return [
        Endpoint(
            provider.name,
            base + reverse("events:webhook", args=[slug]),
            bool(provider.secret()),
            provider.key,
            provider.how,
        )
        for slug, provider in PROVIDERS.items()
    ]
