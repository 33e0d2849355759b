"""Link tokens: random, shown once in a link, stored only as a SHA-256 hex digest."""

from __future__ import annotations

import hashlib
import secrets

from django.http import HttpRequest

from postroom.config import current_config

MAX_TOKEN_LENGTH = 100  # token_urlsafe(32) is 43 characters; longer input is not ours


def new_token() -> tuple[str, str]:
    """A fresh token and its digest: ``(token for the link, digest for the database)``."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", errors="replace")).hexdigest()


def absolute_link(request: HttpRequest | None, path: str) -> str:
    """``POSTROOM_BASE_URL`` + path when set (behind a proxy), else the request's own address."""
    base = current_config().hosting.base_url.value  # validated, without a trailing slash
    if base:
        return base + path
    if request is None:
        return "http://localhost" + path
    return request.build_absolute_uri(path)
