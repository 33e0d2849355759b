"""The backup SMTP connection, ``Postroom:Smtp:Backup:*``: the main settings' keys once more.

Read from appsettings*.json and the environment (``Postroom__Smtp__Backup__Host``). Not from
web.config: .NET's ``<mailSettings>`` holds exactly one ``<smtp>``, and a second one is an
error there as here. Each value is checked as the main one is; a problem leaves the value
unset (no Host: no backup) and says so.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any

from postroom.config.model import BACKUP, WARNING, Backup, Issue
from postroom.config.values import Reader
from postroom.mailsettings import convert
from postroom.mailsettings.fields import DELIVERY_FORMATS, host_name, sender_address
from postroom.mailsettings.layers import Entry, Layers
from postroom.mailsettings.model import (
    AUTO,
    NETWORK,
    NONE,
    SECURE_SOCKET_OPTIONS,
    SSL_ON_CONNECT,
    Secret,
    Setting,
    SmtpSettings,
)

DEFAULT_AFTER_MINUTES = 10
ENV_PASSWORD = "Postroom__Smtp__Backup__Password"  # noqa: S105 (a variable name)


def read_backup(layers: Layers, issues: list[Issue], main: SmtpSettings, site: Path) -> Backup:
    r = Reader(layers, "backup", issues)
    security = r.typed(
        f"{BACKUP}:SecureSocketOptions",
        AUTO,
        lambda v: convert.to_enum(v, SECURE_SOCKET_OPTIONS),
        "Auto suits most servers; use SslOnConnect for port 465 and StartTls for 587.",
    )
    backup = Backup(
        host=r.typed(
            f"{BACKUP}:Host",
            None,
            _no_token(host_name),
            "Use the SMTP server name of the backup provider, e.g. smtp.mailgun.org.",
        ),
        port=r.typed(
            f"{BACKUP}:Port",
            465 if security.value == SSL_ON_CONNECT else 25,
            lambda v: convert.to_int(v, 1, 65535),
            "Use the port the backup provider gives: usually 587 (STARTTLS) or 465 (TLS).",
        ),
        secure_socket_options=security,
        username=r.typed(
            f"{BACKUP}:Username",
            None,
            _no_token(convert.to_exact_string),
            "Write the user name as a string.",
        ),
        password=r.typed(
            f"{BACKUP}:Password",
            None,
            _no_token(lambda v: Secret(convert.to_exact_string(v))),
            f"Write the password as a string, best in the environment variable {ENV_PASSWORD}.",
        ),
        from_address=r.typed(
            f"{BACKUP}:From",
            None,
            sender_address,
            "Use a sender address the backup provider accepts, or remove it to use the main From.",
        ),
        client_domain=r.typed(
            f"{BACKUP}:ClientDomain",
            None,
            host_name,
            "Use this machine's host name as the backup server should see it in EHLO.",
        ),
        delivery_format=r.typed(
            f"{BACKUP}:DeliveryFormat",
            main.delivery_format.value or DELIVERY_FORMATS[0],
            lambda v: convert.to_enum(v, DELIVERY_FORMATS),
            "International allows non-ASCII addresses (SMTPUTF8); SevenBit is the default.",
        ),
        ca_file=r.typed(
            f"{BACKUP}:CaFile",
            None,
            lambda v: _ca_file(v, site),
            "Set it to a PEM file of the CA certificates to trust, or remove it.",
        ),
        timeout_seconds=r.typed(
            f"{BACKUP}:TimeoutSeconds",
            30.0,
            lambda v: convert.to_float(v, 1, 3600),
            "Write a number of seconds such as 30.",
        ),
        after_temporary_failure_minutes=r.whole(
            f"{BACKUP}:AfterTemporaryFailureMinutes",
            DEFAULT_AFTER_MINUTES,
            0,
            24 * 60,
            "Write a whole number of minutes, e.g. 10, or 0 to switch at the first 4xx reply.",
        ),
    )
    _check(r, backup, main)
    return backup


def backup_smtp_settings(backup: Backup, main: SmtpSettings) -> SmtpSettings | None:
    """The backup as SMTP settings (for the transport and the health check), or None when
    there is none. Its From is the main From unless it has its own."""
    if not backup.configured:
        return None
    sender = backup.from_address if backup.from_address.is_set else main.from_address
    return SmtpSettings(
        from_address=sender,
        host=backup.host,
        port=backup.port,
        username=backup.username,
        password=backup.password,
        secure_socket_options=backup.secure_socket_options,
        delivery_method=Setting(NETWORK, "default"),
        client_domain=backup.client_domain,
        delivery_format=backup.delivery_format,
        ca_file=backup.ca_file,
        timeout=backup.timeout_seconds,
    )


def _no_token(parse: Any) -> Any:
    def checked(value: Any) -> Any:
        if convert.is_deployment_token(value):
            raise convert.Invalid("a value, not a deployment token that was never replaced")
        return parse(value)

    return checked


def _ca_file(value: Any, site: Path) -> str:
    written = convert.to_string(value)
    path = Path(written) if os.path.isabs(written) else (site / written).resolve()
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(path))
    except (OSError, ssl.SSLError, ValueError):
        raise convert.Invalid(f"a readable PEM file of CA certificates ({path} is not)") from None
    return str(path)


def _check(r: Reader, backup: Backup, main: SmtpSettings) -> None:
    """Warnings across keys: the backup would not be used, or not as meant."""
    entries = {key: r.entry(key) for _, key, _ in backup.settings()}
    given = [entry for entry in entries.values() if entry is not None]
    host = entries[f"{BACKUP}:Host"]
    if given and host is None:
        _warn(
            r,
            given[0],
            f"{BACKUP}:Host",
            f"{given[0].name} is set, but {BACKUP}:Host is not, so there is no backup connection.",
            "Set the backup server's Host too, or remove the Postroom:Smtp:Backup keys.",
        )
        return
    if host is None or not backup.configured:
        return
    if main.uses_pickup_directory:
        _warn(
            r,
            host,
            f"{BACKUP}:Host",
            "A backup server is set, but the main settings write to a pickup directory: the"
            " backup stands in only for a main SMTP server, so it is not used.",
            "Send through an SMTP server as the main connection, or remove the backup.",
        )
    user, password = entries[f"{BACKUP}:Username"], entries[f"{BACKUP}:Password"]
    if bool(backup.username.value) != bool(backup.password.value) and (user or password):
        present = user or password
        assert present is not None
        _warn(
            r,
            present,
            f"{BACKUP}:Username",
            f"{present.name} is set alone: Postroom logs in to the backup only when both its"
            " Username and Password are set, so it will send without logging in.",
            "Set both, or remove the one that is set if the backup server needs no login.",
        )
    if backup.password.value and backup.secure_socket_options.value == NONE:
        _warn(
            r,
            entries[f"{BACKUP}:SecureSocketOptions"] or host,
            f"{BACKUP}:SecureSocketOptions",
            "The backup's SecureSocketOptions is None while a user name and password are set:"
            " the backup password would travel unencrypted.",
            "Use StartTls (port 587) or SslOnConnect (port 465).",
        )


def _warn(r: Reader, entry: Entry, key: str, message: str, hint: str) -> None:
    r.issues.append(
        Issue(
            entry.source,
            message,
            line=entry.line,
            key=key,
            hint=hint,
            section=r.section,
            level=WARNING,
        )
    )
