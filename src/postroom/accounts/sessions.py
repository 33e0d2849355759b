"""Ending a user's sessions: after a password reset, when disabled or deleted.

Django already rejects a session whose stored password hash no longer matches; deleting the
rows as well makes the end immediate and independent of what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.utils import timezone

from postroom.core.requests import client_address

DATABASE_ENGINES = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)


# What a session remembers about where it was opened, for the Account page's list.
SIGNED_IN_AT, USER_AGENT, ADDRESS = "postroom_signed_in_at", "postroom_user_agent", "postroom_ip"
USER_AGENT_MAX_CHARS = 200


@dataclass(frozen=True)
class OpenSession:
    key: str
    expires_at: datetime
    signed_in_at: datetime | None  # None for sessions from before Postroom recorded it
    user_agent: str
    address: str


def remember_sign_in(request: HttpRequest) -> None:
    """Record when, from where and with what browser this session was opened."""
    request.session[SIGNED_IN_AT] = timezone.now().isoformat()
    request.session[USER_AGENT] = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_CHARS]
    request.session[ADDRESS] = client_address(request)


def open_sessions(user_pk: int) -> list[OpenSession]:
    """The user's unexpired sessions, newest sign-in first."""
    if settings.SESSION_ENGINE not in DATABASE_ENGINES:
        return []
    found = []
    # Sessions are few in a backoffice; each is decoded to find its user.
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        try:
            data = session.get_decoded()
        except Exception:  # noqa: S112 (a corrupt row belongs to nobody)
            continue
        if str(data.get(SESSION_KEY)) == str(user_pk):
            found.append(
                OpenSession(
                    session.session_key,
                    session.expire_date,
                    _moment(data.get(SIGNED_IN_AT)),
                    str(data.get(USER_AGENT, "")),
                    str(data.get(ADDRESS, "")),
                )
            )
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda s: s.signed_in_at or oldest, reverse=True)


def _moment(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def end_sessions(user_pk: int, keep: str | None = None) -> int:
    """Delete every unexpired session of the user but ``keep``; returns how many."""
    doomed = [s.key for s in open_sessions(user_pk) if s.key != keep]
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
