"""URLs that carry a password: parsed once, shown only with the password masked."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

from postroom.mailsettings.model import (
    AUTO,
    MASK,
    SSL_ON_CONNECT,
    START_TLS,
    Secret,
)

FALLBACK_SCHEMES = {"smtp": AUTO, "smtp+starttls": START_TLS, "smtps": SSL_ON_CONNECT}
FALLBACK_EXAMPLE = "smtp+starttls://user:pass@relay.example:587"


class RedactedUrl:
    """A URL whose str and repr mask the password; ``reveal()`` gives it whole."""

    __slots__ = ("_url",)

    def __init__(self, url: str) -> None:
        self._url = url

    def reveal(self) -> str:
        return self._url

    def __str__(self) -> str:
        return redact(self._url)

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RedactedUrl) and other._url == self._url

    def __hash__(self) -> int:
        return hash(self._url)


def redact(url: str) -> str:
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))
    except ValueError:
        return MASK


@dataclass(frozen=True)
class FallbackRelay:
    """The hosting relay of ``POSTROOM_FALLBACK_SMTP_URL``; str masks the password."""

    scheme: str
    host: str
    port: int
    security: str
    username: str | None = None
    password: Secret | None = field(default=None, repr=False)

    def __str__(self) -> str:
        user = (
            f"{self.username}:{MASK}@"
            if self.password
            else (f"{self.username}@" if self.username else "")
        )
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{user}{host}:{self.port}"


class FallbackUrlError(ValueError):
    """The relay URL is malformed; the message never holds the URL or its password."""


def parse_fallback_url(url: str) -> FallbackRelay:
    """``smtp+starttls://user:pass@relay.example:587`` (also ``smtp://``, ``smtps://``)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise FallbackUrlError(
            "it has a port that is not a number from 1 to 65535, or a malformed host"
        ) from None
    scheme = parts.scheme.lower()
    security = FALLBACK_SCHEMES.get(scheme)
    if security is None:
        raise FallbackUrlError("it does not start with smtp://, smtp+starttls:// or smtps://")
    if not parts.hostname:
        raise FallbackUrlError("it names no host")
    if port == 0:
        raise FallbackUrlError("its port is 0")
    password = unquote(parts.password) if parts.password else None
    return FallbackRelay(
        scheme=scheme,
        host=parts.hostname,
        port=port or (465 if security == SSL_ON_CONNECT else 587),
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=Secret(password) if password else None,
    )
