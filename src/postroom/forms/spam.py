"""Turning robots away: a honeypot, a signed single-use start time, a per-address rate
limit, a size limit.

Everything is kept in the database, so every web process agrees. A rejection is counted
per form and reason; it never becomes an entry and never sends mail.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from postroom.core import ratelimit
from postroom.core.requests import client_address
from postroom.forms.models import Form, Rejection, UsedToken
from postroom.forms.writes import one_writer

RATE_SCOPE = "form-entries"
TOKEN_SALT = "postroom.forms.started"  # noqa: S105 (a salt, not a secret)
TOKEN_MAX_AGE = 24 * 3600  # a page left open for a day must be sent again
Reason = Rejection.Reason


@dataclass(frozen=True)
class Refusal:
    reason: str
    message: str
    status: int


def issue_token(form: Form, now: float | None = None) -> str:
    """A signed "this page was shown at" for the hidden field, good for one entry.

    The random nonce makes every page view's token distinct, so that using one (recorded by
    :func:`use_token`) never uses up another visitor's.
    """
    started = now if now is not None else time.time()
    payload = {"f": form.pk, "t": round(started, 3), "n": secrets.token_urlsafe(12)}
    return signing.dumps(payload, salt=TOKEN_SALT, compress=False)


def check_token(form: Form, token: str, now: float | None = None) -> Refusal | None:
    """Whether ``token`` may carry an entry of ``form`` now; it is not used up here."""
    now = now if now is not None else time.time()
    read = _read(token)
    if read is None or now - read[1] > TOKEN_MAX_AGE:
        return Refusal(
            Reason.NO_TOKEN,
            "This page was open for too long, or was not loaded properly. "
            "Please check your answers and send the form again.",
            400,
        )
    form_id, started = read
    if form_id != form.pk:
        return Refusal(Reason.NO_TOKEN, "This page belongs to another form. Please reload it.", 400)
    if now - started < form.min_fill_seconds:
        return Refusal(
            Reason.TOO_FAST,
            "That was quicker than we expected. Please check your answers and send again.",
            400,
        )
    if UsedToken.objects.filter(key=_key(token)).exists():
        return ALREADY_USED
    return None


def use_token(token: str, now: float | None = None) -> bool:
    """Record that ``token`` (already checked) carried an entry; False if one had it before.

    Call it inside the entry's transaction: the primary key makes the first of two parallel
    uses win and the other fail, on SQLite and PostgreSQL alike.
    """
    now = now if now is not None else time.time()
    expires = datetime.fromtimestamp(now + TOKEN_MAX_AGE, tz=UTC)
    try:
        with transaction.atomic():
            UsedToken.objects.create(key=_key(token), expires_at=expires)
    except IntegrityError:
        return False
    return True


def reissue_token(form: Form, token: str) -> str:
    """A fresh token for a page shown again, keeping the original start time when it is ours
    and unused. A used token's page starts afresh: otherwise each refusal would hand out a
    new token that skips the minimum fill time, and one page view would carry many entries."""
    read = _read(token)
    if read is None or read[0] != form.pk or time.time() - read[1] > TOKEN_MAX_AGE:
        return issue_token(form)
    if UsedToken.objects.filter(key=_key(token)).exists():
        return issue_token(form)
    return issue_token(form, now=read[1])


ALREADY_USED = Refusal(
    Reason.REUSED,
    "This page has already been sent once. If you meant to send another entry, "
    "check your answers and send the form again.",
    400,
)


def _read(token: str) -> tuple[object, float] | None:
    """The form id and start time signed into ``token``; None when it is not one of ours."""
    try:
        payload = signing.loads(token or "", salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
        return payload["f"], float(payload["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def _key(token: str) -> str:
    """What is recorded of a used token: a digest, so the table holds no valid token."""
    return hashlib.sha256(token.encode()).hexdigest()


def forget_used_tokens() -> int:
    """Housekeeping: a token past its expiry is refused by its signature anyway."""
    return UsedToken.objects.filter(expires_at__lt=timezone.now()).delete()[0]


def too_large(form: Form, request: HttpRequest) -> Refusal | None:
    """Refuses a submission over this form's own size from its declared length.

    By now the web server has received the whole body (spooled to disk past 64 KiB; it refused
    anything over the largest size any form accepts before reading it), but Django has not
    parsed it: refusing here saves parsing the body and writing its uploads to storage.
    """
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = form.max_request_mb * 1024 * 1024
    if length > limit:
        return Refusal(Reason.TOO_LARGE, size_message(length, form.max_request_mb), 413)
    return None


def size_message(length: int | None, limit_mb: int) -> str:
    size = f"{length / 1024 / 1024:.1f} MB" if length else "too large"
    return (
        f"The submission is {size}; this form accepts at most {limit_mb} MB in all. "
        "Please send smaller or fewer files."
    )


def client_ip(request: HttpRequest) -> str:
    return client_address(request)


def take_rate_slot(form: Form, ip: str, now: datetime | None = None) -> Refusal | None:
    """Count one entry for ``ip``; a refusal once the form's limit for the period is passed.

    Counted by the shared rate limiter: atomic across processes, the address stored hashed.
    """
    if not form.rate_limit:
        return None
    window = timedelta(minutes=max(form.rate_window_minutes, 1))
    if ratelimit.allow(RATE_SCOPE, (str(form.pk), ip), form.rate_limit, window, now):
        return None
    minutes = form.rate_window_minutes
    return Refusal(
        Reason.RATE_LIMITED,
        f"Too many entries from your address: this form takes at most {form.rate_limit} "
        f"every {minutes} minute{'s' if minutes != 1 else ''}. Please try again later.",
        429,
    )


def count_rejection(form: Form, reason: str) -> None:
    now = timezone.now()
    rows = Rejection.objects.filter(form=form, reason=reason)
    with one_writer():
        if rows.update(count=F("count") + 1, last_at=now):
            return
        try:
            with transaction.atomic():
                Rejection.objects.create(form=form, reason=reason, count=1, last_at=now)
        except IntegrityError:
            rows.update(count=F("count") + 1, last_at=now)
