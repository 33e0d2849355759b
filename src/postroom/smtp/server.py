"""Where and how to talk SMTP: one immutable value built from the settings or by hand."""

from __future__ import annotations

from dataclasses import dataclass

from postroom.mailsettings.model import (
    AUTO,
    NONE,
    SECURE_SOCKET_OPTIONS,
    SSL_ON_CONNECT,
    START_TLS,
    Secret,
    SmtpSettings,
)

DEFAULT_TIMEOUT = 30.0
IMPLICIT_TLS_PORT = 465

# deliveryFormat, as System.Net.Mail's SmtpDeliveryFormat names them.
SEVEN_BIT = "SevenBit"  # ASCII mailboxes only; a non-ASCII domain goes out in its xn-- form
INTERNATIONAL = "International"  # non-ASCII mailboxes through SMTPUTF8 (RFC 6531)
DELIVERY_FORMATS = (SEVEN_BIT, INTERNATIONAL)


@dataclass(frozen=True)
class Server:
    """An SMTP server and how to use it. ``timeout`` bounds the opening of a session as a
    whole (connect, TLS, greeting, EHLO, login) and then each command of an envelope."""

    host: str
    port: int = 25
    security: str = AUTO
    username: str | None = None
    password: Secret | None = None
    client_domain: str | None = None
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    delivery_format: str = SEVEN_BIT
    timeout_setting: str = "Postroom:Smtp:TimeoutSeconds"  # named when a step times out

    def __post_init__(self) -> None:
        if self.security not in SECURE_SOCKET_OPTIONS:
            raise ValueError(f"security must be one of {', '.join(SECURE_SOCKET_OPTIONS)}")
        if self.delivery_format not in DELIVERY_FORMATS:
            raise ValueError(f"delivery_format must be one of {', '.join(DELIVERY_FORMATS)}")
        if isinstance(self.password, str):
            object.__setattr__(self, "password", Secret(self.password))
        object.__setattr__(self, "port", int(self.port))
        object.__setattr__(self, "timeout", float(self.timeout))

    @classmethod
    def from_settings(cls, smtp: SmtpSettings, timeout: float | None = None) -> Server:
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
            timeout=float(timeout or smtp.timeout.value or DEFAULT_TIMEOUT),
            delivery_format=smtp.delivery_format.value or SEVEN_BIT,
        )

    @property
    def implicit_tls(self) -> bool:
        return self.security == SSL_ON_CONNECT or (
            self.security == AUTO and self.port == IMPLICIT_TLS_PORT
        )

    @property
    def logs_in(self) -> bool:
        """Postroom logs in only when both the user name and the password are set."""
        return bool(self.username and self.password)

    def describe(self) -> str:
        """``smtp.example.com:587 via STARTTLS``; never the credentials."""
        where = f"{self.host}:{self.port}"
        if self.implicit_tls:
            return f"{where} via implicit TLS"
        if self.security == START_TLS:
            return f"{where} via STARTTLS"
        if self.security == NONE:
            return f"{where} without TLS"
        return f"{where} (STARTTLS when offered)"

    def __repr__(self) -> str:
        return f"<Server {self.describe()}>"
