"""What the SMTP probe connects to: built from SmtpSettings, in memory (nothing is saved)."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass

from postroom.mailsettings import Secret, SmtpSettings
from postroom.mailsettings.model import AUTO, SSL_ON_CONNECT
from postroom.smtp import SEVEN_BIT, Server

IMPLICIT_TLS_PORT = 465
_SALT = secrets.token_bytes(16)  # per process: fingerprints never carry a reusable hash


@dataclass(frozen=True)
class Target:
    """Where and how to connect."""

    host: str
    port: int
    security: str = AUTO
    username: str | None = None
    password: Secret | None = None
    client_domain: str | None = None
    ca_file: str | None = None
    delivery_format: str = SEVEN_BIT

    @classmethod
    def from_settings(cls, smtp: SmtpSettings) -> Target:
        security = smtp.secure_socket_options.value or AUTO
        port = smtp.port.value or (IMPLICIT_TLS_PORT if security == SSL_ON_CONNECT else 25)
        password = smtp.password.value
        return cls(
            host=str(smtp.host.value or ""),
            port=int(port),
            security=security,
            username=smtp.username.value or None,
            password=password if password else None,
            client_domain=smtp.client_domain.value or None,
            ca_file=smtp.ca_file.value or None,
            delivery_format=smtp.delivery_format.value or SEVEN_BIT,
        )

    def server(self, timeout: float) -> Server:
        """The server to probe, the way the delivery worker's session will see it."""
        return Server(
            host=self.host,
            port=self.port,
            security=self.security,
            username=self.username,
            password=self.password,
            client_domain=self.client_domain,
            ca_file=self.ca_file,
            timeout=timeout,
            delivery_format=self.delivery_format,
        )

    @property
    def implicit_tls(self) -> bool:
        return self.security == SSL_ON_CONNECT or (
            self.security == AUTO and self.port == IMPLICIT_TLS_PORT
        )

    @property
    def logs_in(self) -> bool:
        return bool(self.username and self.password)

    def fingerprint(self) -> str:
        """Identifies these settings for the cache; the password only as a salted hash."""
        secret = self.password.reveal() if self.password else ""
        parts = [
            self.host.lower(),
            str(self.port),
            self.security,
            self.username or "",
            hashlib.sha256(_SALT + secret.encode()).hexdigest(),
            self.client_domain or "",
            self.ca_file or "",
            _mtime(self.ca_file),
        ]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def __repr__(self) -> str:
        return f"<Target {self.host}:{self.port} {self.security}>"


def _mtime(path: str | None) -> str:
    if not path:
        return ""
    try:
        return str(os.stat(path).st_mtime_ns)
    except OSError:
        return "missing"
