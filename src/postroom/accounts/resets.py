"""Resetting a forgotten password: off unless switched on, and only when email can be sent.

- The answer to a request is the same whether or not the address has an account.
- Limits: per client address and per account address, per hour (see :mod:`config`);
  over the first the visitor is told to wait, over the second nothing more is sent.
- The link works for one hour and once. Opening it uses nothing up; setting the password
  does, ends every session of the user and lifts a login lockout.
- Never through the fallback relay: that serves invitations only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from postroom.accounts import config, emails, lockout
from postroom.accounts.models import PasswordReset, User
from postroom.accounts.sessions import end_sessions
from postroom.accounts.tokens import MAX_TOKEN_LENGTH, digest, new_token
from postroom.core import ratelimit
from postroom.core.links import base_url
from postroom.core.requests import client_address
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import Channel, Kind

VALID = "valid"
EXPIRED = "expired"
USED = "used"
UNKNOWN = "unknown"

WINDOW = timedelta(hours=1)  # the reset limits are per hour
KEEP = timedelta(days=1)  # expired links are kept this long, then deleted


class TooManyRequests(Exception):
    """This client asked too often; the text is for the visitor."""


class _Rehearsal(Exception):
    """Rolls back the work done for an address that gets no email."""


def request_reset(email: str, request: HttpRequest) -> bool:
    """Queue a reset email if the address has an active account; True if one was queued.

    The caller shows the same answer either way, and the time taken is the same too: for an
    address that gets no email (no account, or over its limit) the same token, email and
    rows are made, in a transaction that is then rolled back. Raises TooManyRequests past
    the per-client limit (which says nothing about accounts), MissingBaseUrl when links
    cannot be built here.
    """
    email = email.strip().lower()
    per_address, per_account = config.reset_limits()
    if not ratelimit.allow("reset-client", client_address(request), per_address, WINDOW):
        raise TooManyRequests(
            "Too many password reset requests came from your network in the last hour. "
            "Try again later, or ask an administrator."
        )
    within_limit = ratelimit.allow("reset-account", email, per_account, WINDOW)
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    real = within_limit and user is not None and user.has_usable_password()
    base = base_url(request)
    try:
        with transaction.atomic():
            _issue(user if real and user else _stand_in(email), base)
            if not real:
                raise _Rehearsal
    except _Rehearsal:
        return False
    return True


def _stand_in(email: str) -> User:
    # Never saved: its reset row is rolled back before any foreign key is checked (they are
    # deferred to the commit on SQLite and PostgreSQL alike).
    return User(id=0, email=email, name="")


def _issue(user: User, base: str) -> None:
    token, token_hash = new_token()
    now = timezone.now()
    expires = now + config.RESET_EXPIRY
    link = base + reverse("accounts:password-reset-confirm", args=[token])
    rendered = emails.render_password_reset(name=user.name, email=user.email, link=link)
    PasswordReset.objects.create(
        user_id=user.pk, token_hash=token_hash, created_at=now, expires_at=expires
    )
    enqueue(
        emails.to_message(rendered, user.name, user.email, expires=expires),
        kind=Kind.PASSWORD_RESET,
        channel=Channel.SITE,
    )


def find(token: str) -> PasswordReset | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return PasswordReset.objects.select_related("user").filter(token_hash=digest(token)).first()


def state(reset: PasswordReset | None, now: datetime | None = None) -> str:
    if reset is None or not reset.user.is_active:
        return UNKNOWN
    if reset.used_at is not None:
        return USED
    return VALID if (now or timezone.now()) < reset.expires_at else EXPIRED


def complete(token: str, password: str) -> User | None:
    """Set the new password from a valid link; None if the link is no longer valid."""
    with transaction.atomic():
        reset = find(token)
        if reset is None:
            return None
        locked = PasswordReset.objects.select_for_update(of=("self",)).select_related("user")
        reset = locked.get(pk=reset.pk)
        if state(reset) != VALID:
            return None
        now = timezone.now()
        user = reset.user
        user.set_password(password)
        user.save(update_fields=["password"])
        # This link and every other outstanding one for the user are used up.
        PasswordReset.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    end_sessions(user.pk)
    lockout.record_success(user.email)
    return user


def forget_old(now: datetime | None = None) -> int:
    now = now or timezone.now()
    deleted, _ = PasswordReset.objects.filter(expires_at__lt=now - KEEP).delete()
    return deleted
