"""The effective SMTP settings: an immutable value, each field with the place it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from postroom import redact

MASK = "********"

# SecureSocketOptions, as MailKit names them.
NONE = "None"
AUTO = "Auto"
SSL_ON_CONNECT = "SslOnConnect"
START_TLS = "StartTls"
START_TLS_WHEN_AVAILABLE = "StartTlsWhenAvailable"
SECURE_SOCKET_OPTIONS = (NONE, AUTO, SSL_ON_CONNECT, START_TLS, START_TLS_WHEN_AVAILABLE)

# DeliveryMethod, as System.Net.Mail names them.
NETWORK = "Network"
PICKUP_DIRECTORY = "SpecifiedPickupDirectory"
PICKUP_FROM_IIS = "PickupDirectoryFromIis"
DELIVERY_METHODS = (NETWORK, PICKUP_DIRECTORY, PICKUP_FROM_IIS)


class Secret:
    """A password that never shows itself in repr, str, logs or templates."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        redact.remember(value)  # masked in every log record from now on

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return MASK

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Setting:
    """One effective value and its origin, e.g. ``web.config:4`` or ``env:Umbraco__...``.

    ``origin`` is ``"default"`` for a built-in default and ``None`` when the value is unset.
    """

    value: Any = None
    origin: str | None = None

    @property
    def is_set(self) -> bool:
        return self.value is not None

    def shown(self) -> Any:
        """The value as it may be displayed: secrets are masked."""
        if isinstance(self.value, Secret):
            return MASK
        if isinstance(self.value, timedelta):  # keys that hold a span name it in hours
            hours = self.value.total_seconds() / 3600
            return int(hours) if hours.is_integer() else round(hours, 2)
        return self.value


UNSET = Setting()


# Each SMTP field by the key people write in appsettings.json (Umbraco:CMS:Global:Smtp, or
# Postroom:Smtp for the last four); screens and `config show` name fields this way.
DISPLAY_KEYS = {
    "from": "From",
    "host": "Host",
    "port": "Port",
    "username": "Username",
    "password": "Password",
    "secure_socket_options": "SecureSocketOptions",
    "delivery_method": "DeliveryMethod",
    "pickup_directory": "PickupDirectoryLocation",
    "client_domain": "ClientDomain",
    "delivery_format": "DeliveryFormat",
    "ca_file": "CaFile",
    "timeout": "TimeoutSeconds",
}
TLS_WORDS = {
    NONE: "without TLS",
    START_TLS: "via STARTTLS",
    SSL_ON_CONNECT: "via implicit TLS",
}
IMPLICIT_TLS_PORT = 465


@dataclass(frozen=True)
class Problem:
    """An error or warning about the configuration: where it is and how to fix it."""

    source: str  # "web.config", "appsettings.Production.json", "env", "settings"
    message: str
    line: int | None = None
    key: str | None = None
    hint: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "line": self.line,
            "key": self.key,
            "message": self.message,
            "hint": self.hint,
        }

    @property
    def display_key(self) -> str | None:
        """The key as people write it (``Port``), not the field's name in code (``port``)."""
        return DISPLAY_KEYS.get(self.key, self.key) if self.key else None

    def __str__(self) -> str:
        where = self.source + (f":{self.line}" if self.line else "")
        key = f" ({self.display_key})" if self.key else ""
        hint = f" {self.hint}" if self.hint else ""
        return f"{where}{key}: {self.message}{hint}"


@dataclass(frozen=True)
class SmtpSettings:
    """What Postroom will use to send mail. Built only by :mod:`postroom.mailsettings.loader`."""

    from_address: Setting = UNSET
    host: Setting = UNSET
    port: Setting = UNSET
    username: Setting = UNSET
    password: Setting = UNSET  # value is a Secret
    secure_socket_options: Setting = UNSET
    delivery_method: Setting = UNSET
    pickup_directory: Setting = UNSET
    client_domain: Setting = UNSET
    delivery_format: Setting = UNSET
    ca_file: Setting = UNSET
    timeout: Setting = UNSET  # seconds, float
    errors: tuple[Problem, ...] = field(default_factory=tuple)
    warnings: tuple[Problem, ...] = field(default_factory=tuple)
    placeholder: bool = False  # the documentation's template values are in use

    # Field name in JSON output -> attribute.
    JSON_FIELDS = (
        ("from", "from_address"),
        ("host", "host"),
        ("port", "port"),
        ("username", "username"),
        ("password", "password"),
        ("secure_socket_options", "secure_socket_options"),
        ("delivery_method", "delivery_method"),
        ("pickup_directory", "pickup_directory"),
        ("client_domain", "client_domain"),
        ("delivery_format", "delivery_format"),
        ("ca_file", "ca_file"),
        ("timeout", "timeout"),
    )

    @property
    def configured(self) -> bool:
        """True when mail can be sent with these settings: no errors, no template values."""
        if self.errors or self.placeholder or not self.from_address.is_set:
            return False
        method = self.delivery_method.value or NETWORK
        if method == NETWORK:
            return bool(self.host.value)
        if method == PICKUP_DIRECTORY:
            return bool(self.pickup_directory.value)
        return False

    @property
    def uses_pickup_directory(self) -> bool:
        return (self.delivery_method.value or NETWORK) == PICKUP_DIRECTORY

    def fields(self) -> list[tuple[str, Setting]]:
        return [(name, getattr(self, attr)) for name, attr in self.JSON_FIELDS]

    def rows(self) -> list[tuple[str, str, Setting]]:
        """(key as people write it, state, setting) for screens: state is ``set``,
        ``invalid`` (given, but an error), ``empty`` (given empty) or ``unset``."""
        invalid = {problem.key for problem in self.errors}
        listed = []
        for name, setting in self.fields():
            if setting.value is not None:
                state = "set"
            elif name in invalid and setting.origin and setting.origin != "default":
                state = "invalid"  # given, but not usable (a missing value is "not set")
            elif setting.origin and setting.origin != "default":
                state = "empty"
            else:
                state = "unset"
            listed.append((DISPLAY_KEYS.get(name, name), state, setting))
        return listed

    def describe_server(self) -> str:
        """``smtp.example.com:587 via STARTTLS``: as the delivery screens describe it."""
        port, security = self.port.value, self.secure_socket_options.value
        where = f"{self.host.value}:{port}"
        if security == AUTO and port == IMPLICIT_TLS_PORT:
            return f"{where} via implicit TLS"
        return f"{where} {TLS_WORDS.get(security, '(STARTTLS when offered)')}"

    def as_json(self) -> dict[str, Any]:
        """The shape printed by ``postroom config show --json``; the password is masked."""
        return {
            "configured": self.configured,
            "smtp": {
                name: {"value": setting.shown(), "origin": setting.origin}
                for name, setting in self.fields()
            },
            "errors": [problem.as_json() for problem in self.errors],
            "warnings": [problem.as_json() for problem in self.warnings],
        }


@dataclass
class Report:
    """Problems collected while reading and validating; frozen into SmtpSettings at the end."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
