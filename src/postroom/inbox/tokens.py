"""Make and check inbox API tokens, shaped like application secrets: ``pri_<lookup>_<random>``.

The lookup finds the row in one indexed query; only the digest of the whole token is stored
(the same digest as application secrets) and it is compared in constant time.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from postroom.applications.credentials import digest
from postroom.inbox.models import InboxToken

PREFIX = "pri"
_SHAPE = re.compile(r"^pri_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
LAST_USED_PRECISION = timedelta(minutes=1)  # write last_used_at at most this often


def create_token(name: str) -> tuple[InboxToken, str]:
    """A new token (the only time it is seen); ValueError when the name is empty or taken."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("An inbox API token needs a name of 1 to 100 characters.")
    if InboxToken.objects.filter(name__iexact=name).exists():
        raise ValueError(f"An inbox API token named {name!r} exists already.")
    while True:
        lookup = secrets.token_hex(6)
        token = f"{PREFIX}_{lookup}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                row = InboxToken.objects.create(name=name, lookup=lookup, digest=digest(token))
            return row, token
        except IntegrityError:
            if InboxToken.objects.filter(name__iexact=name).exists():
                raise ValueError(f"An inbox API token named {name!r} exists already.") from None
            continue  # a lookup collision (1 in 2^48): draw again


def authenticate(token: str) -> InboxToken | None:
    """The token's row, or None when it is malformed, unknown or revoked."""
    match = _SHAPE.match(token or "")
    if not match:
        return None
    row = InboxToken.objects.filter(lookup=match.group(1)).first()
    if row is None or not hmac.compare_digest(row.digest, digest(token)):
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_PRECISION:
        InboxToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row


def revoke(name: str) -> bool:
    deleted, _ = InboxToken.objects.filter(name__iexact=name.strip()).delete()
    return bool(deleted)
