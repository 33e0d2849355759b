"""Secrets out of log records: known values and secret-shaped text become ``********``.

Every record the console handler writes passes :class:`RedactSecrets` first, including the
traceback of a 500. Two nets catch a secret:

- **by value**: the secret key, secret-named environment variables (``...Password``,
  ``POSTROOM_SECRET_KEY``, ``...WebhookUrl``, ``POSTROOM_FALLBACK_SMTP_URL``) and every value
  handed to :func:`remember` (each ``Secret`` does so when it is made, e.g. the SMTP password
  read from web.config);
- **by shape**: passwords in URLs (``smtp://user:pw@host``), link tokens in paths
  (``/invite/<token>/``, ``/password/reset/<token>/``), session and CSRF cookies,
  ``Authorization`` headers, ``password=...``-style pairs and webhook URLs.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

MASK = "********"
MIN_LENGTH = 4  # shorter "secrets" would mask ordinary words all over the log
REMEMBER_AT_MOST = 256

_SECRET_NAME = re.compile(
    r"(password|passwd|secret|secret_?key|api_?key|token|webhook_?url|smtp_?url)$", re.IGNORECASE
)
_LINK_TOKEN = re.compile(r"/(?:invite|reset|password/reset)/([^/\s?#'\"<>]+)", re.IGNORECASE)
SHAPES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # scheme://user:password@host
    (
        re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]*:)[^/\s@'\"]+@", re.IGNORECASE),
        rf"\1{MASK}@",
    ),
    # one-time link tokens in a path
    (_LINK_TOKEN, lambda link: link[0].replace(link[1], MASK)),
    # webhook URLs carry their credential in the path: keep only scheme and host
    (
        re.compile(r"\b(https?://[^/\s'\"<>]+)[^\s'\"<>]*", re.IGNORECASE),
        lambda url: url[0] if "hook" not in url[0].lower() else f"{url[1]}/{MASK}",
    ),
    (re.compile(r"(\bbearer\s+)[^\s'\",;]+", re.IGNORECASE), rf"\1{MASK}"),
    # an application's secret (postroom.applications.credentials), wherever it appears
    (re.compile(r"\bpr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}"), MASK),
    # Authorization: Bearer xyz / 'HTTP_AUTHORIZATION': 'Basic xyz'
    (
        re.compile(
            r"((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?(?:(?:bearer|basic|token|digest)\s+)?)"
            r"[^\s'\",;]+",
            re.IGNORECASE,
        ),
        rf"\1{MASK}",
    ),
    # cookies and CSRF form values; password=..., "token": "..."
    (
        re.compile(
            r"(\b(?:sessionid|csrftoken|csrfmiddlewaretoken|[a-z_]*password|passwd|pwd|secret"
            r"|secret_key|api_?key|token)['\"]?\s*[:=]\s*['\"]?)[^\s'\",;&)}]+",
            re.IGNORECASE,
        ),
        rf"\1{MASK}",
    ),
)

_lock = threading.Lock()
_remembered: dict[str, None] = {}  # insertion-ordered: the oldest is forgotten first
_variables: dict[str, tuple[str, ...]] = {}  # secret-named variable -> its value (and password)


def remember(value: str | None) -> None:
    """Mask ``value`` wherever it appears in a log record from now on."""
    if not value or len(value) < MIN_LENGTH:
        return
    with _lock:
        _remembered.pop(value, None)
        _remembered[value] = None
        while len(_remembered) > REMEMBER_AT_MOST:
            del _remembered[next(iter(_remembered))]


def remember_variable(name: str, value: str) -> None:
    """Mask ``value`` from now on if the variable's name says it is a secret (``...Password``,
    ``POSTROOM_SECRET_KEY``, ``...WebhookUrl``; the password of a URL in it too). The
    configuration calls this for every variable it reads, so nothing here reads the environment.
    """
    if _SECRET_NAME.search(name.rsplit("__", 1)[-1]) and len(value) >= MIN_LENGTH:
        with _lock:  # pinned: as few as the environment holds, and never forgotten
            _variables[name] = (value, *_url_password(value))


def known_secrets() -> list[str]:
    """Every secret value to mask, longest first (so a secret inside another goes too)."""
    with _lock:
        values = set(_remembered)
        values.update(value for pinned in _variables.values() for value in pinned)
    try:
        from django.conf import settings

        if settings.configured and len(settings.SECRET_KEY) >= MIN_LENGTH:
            values.add(settings.SECRET_KEY)
    except Exception:  # noqa: S110 - logging must work before and without Django settings
        pass
    return sorted(values, key=len, reverse=True)


def link_tokens(path: object) -> list[str]:
    """The one-time tokens in a URL path such as ``/invite/<token>/``."""
    if not isinstance(path, str):
        return []
    return [token for token in _LINK_TOKEN.findall(path) if len(token) >= MIN_LENGTH]


def request_secrets(request: object) -> list[str]:
    """The values of a request that are credentials: cookies, Authorization, link tokens."""
    if request is None:
        return []
    found = link_tokens(getattr(request, "path", ""))
    found += [str(value) for value in (getattr(request, "COOKIES", None) or {}).values()]
    meta = getattr(request, "META", None) or {}
    for name in ("HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION"):
        credential = str(meta.get(name, ""))
        found += [credential, credential.partition(" ")[2].strip()]
    return [value for value in found if len(value) >= MIN_LENGTH]


def _url_password(value: str) -> list[str]:
    """The password of ``scheme://user:password@host``, also when it appears on its own."""
    try:
        password = urlsplit(value.strip()).password
    except ValueError:
        return []
    return [password, unquote(password)] if password and len(password) >= MIN_LENGTH else []


def scrub(text: str, also: list[str] | None = None) -> str:
    """``text`` with every known secret, the values in ``also``, and every secret-shaped part
    replaced by ``********``."""
    for value in sorted({*known_secrets(), *(also or [])}, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    for pattern, replacement in SHAPES:
        text = pattern.sub(replacement, text)
    return text


MESSAGE_LIMIT = 4_000  # characters of a log message; a traceback is kept whole


def _bounded(message: str) -> str:
    """One log line stays readable, whatever an input made it (10,000 recipients, a header)."""
    if len(message) <= MESSAGE_LIMIT:
        return message
    return f"{message[:MESSAGE_LIMIT]}… ({len(message) - MESSAGE_LIMIT:,} more characters)"


class RedactSecrets(logging.Filter):
    """Rewrites the record in place (message, traceback, stack) so every handler after this
    one, and every formatter, sees only the scrubbed text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            # Django's request records carry the request: its cookies, credentials and link
            # token may appear on their own, e.g. in an exception message, with no shape.
            tokens = request_secrets(getattr(record, "request", None))
            record.msg = _bounded(scrub(record.getMessage(), tokens))
            record.args = None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = scrub(record.exc_text, tokens)
            if record.stack_info:
                record.stack_info = scrub(record.stack_info, tokens)
        except Exception:  # a broken record must still be logged, minus what we cannot vouch for
            record.msg, record.args = f"(log message withheld: {record.name})", None
            record.exc_text = "(traceback withheld)" if record.exc_info else None
        return True
