"""Where a message came from, for a link on its detail page (e.g. the form entry).

Producers are above delivery and delivery may not import them: each registers a finder at
start-up that recognises its own messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from postroom.delivery.models import OutboxMessage


@dataclass(frozen=True)
class Source:
    label: str  # "Entry #12 on Contact us"
    url: str


Finder = Callable[[OutboxMessage], Source | None]
_finders: list[Finder] = []


def register(finder: Finder) -> None:
    if finder not in _finders:
        _finders.append(finder)


def source_of(message: OutboxMessage) -> Source | None:
    for finder in _finders:
        found = finder(message)
        if found is not None:
            return found
    return None
