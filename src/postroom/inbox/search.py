"""Searching caught messages: a substring of the sender, recipients or subject."""

from __future__ import annotations

from django.db.models import QuerySet

from postroom.inbox.models import CaughtMessage


def search(queryset: QuerySet[CaughtMessage], q: str) -> QuerySet[CaughtMessage]:
    """The messages of ``queryset`` that match ``q`` (all of them when ``q`` is blank)."""
    return queryset.search(q or "")
