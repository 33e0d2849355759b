"""Ending a user's sessions: after a password reset, when disabled or deleted.

Django already rejects a session whose stored password hash no longer matches; deleting the
rows as well makes the end immediate and independent of what changed.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone

DATABASE_ENGINES = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)


def end_sessions(user_pk: int, keep: str | None = None) -> int:
    """Delete every unexpired session of the user but ``keep``; returns how many."""
    if settings.SESSION_ENGINE not in DATABASE_ENGINES:
        return 0
    doomed = []
    # Sessions are few in a backoffice; each is decoded to find its user.
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.session_key == keep:
            continue
        try:
            data = session.get_decoded()
        except Exception:  # noqa: S112 (a corrupt row belongs to nobody)
            continue
        if str(data.get(SESSION_KEY)) == str(user_pk):
            doomed.append(session.session_key)
    if not doomed:
        return 0
    if settings.SESSION_ENGINE.endswith("cached_db"):
        from importlib import import_module

        store = import_module(settings.SESSION_ENGINE).SessionStore
        for key in doomed:
            store(session_key=key).delete()
        return len(doomed)
    deleted, _ = Session.objects.filter(session_key__in=doomed).delete()
    return deleted
