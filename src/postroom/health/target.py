"""What the SMTP probe connects to: built from SmtpSettings, in memory (nothing is saved)."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass

from postroom.mailsettings import Secret, SmtpSettings
from postroom.mailsettings.model import AUTO
from postroom.smtp import SEVEN_BIT, Server

_SALT = secrets.token_bytes(16)  # per process: fingerprints never carry a reusable hash


@dataclass(frozen=True)
class Target:
    """Where and how to connect; the cache tells targets apart by :meth:`fingerprint`."""

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
        server = Server.from_settings(smtp)  # the same defaults as the delivery worker's
        return cls(
            host=server.host,
            port=server.port,
            security=server.security,
            username=server.username,
            password=server.password,
            client_domain=server.client_domain,
            ca_file=server.ca_file,
            delivery_format=server.delivery_format,
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
            timeout_setting="Postroom:Health:TimeoutSeconds",
        )

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
