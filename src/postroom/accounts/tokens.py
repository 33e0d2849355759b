"""Link tokens: random, shown once in a link, stored only as a SHA-256 hex digest."""

from __future__ import annotations

import hashlib
import secrets

MAX_TOKEN_LENGTH = 100  # token_urlsafe(32) is 43 characters; longer input is not ours


def new_token() -> tuple[str, str]:
    """A fresh token and its digest: ``(token for the link, digest for the database)``."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", errors="replace")).hexdigest()
