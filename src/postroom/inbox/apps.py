from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _unread_count() -> int:
    from postroom.inbox import totals

    return totals.read().unread


def _ensure_triggers(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """A later migration may rebuild the messages table (SQLite drops its triggers then)."""
    from postroom.inbox import fulltext, totals

    fulltext.ensure(connections[using])
    totals.ensure(connections[using])


class InboxConfig(AppConfig):
    name = "postroom.inbox"
    label = "inbox"
    navigation = (("Inbox", "inbox:list", "inbox", 30, "administrators"),)
    # Shown next to the navigation entry: unread messages (kept by triggers, not counted).
    navigation_counts = {"inbox:list": _unread_count}

    def ready(self) -> None:
        post_migrate.connect(_ensure_triggers, sender=self)
        from postroom.core import chores
        from postroom.inbox.retention import prune_as_configured

        chores.register("inbox-retention", prune_as_configured)
