"""Try SMTP settings before saving them: a form, provider presets, and the snippets to paste.

Nothing is saved: the values become an in-memory SmtpSettings that only the probe sees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import quoteattr

from django import forms

from postroom.config import current_smtp_settings
from postroom.health.registry import Result
from postroom.mailsettings import Secret, Setting, SmtpSettings, convert
from postroom.mailsettings.fields import host_name, sender_address
from postroom.mailsettings.model import (
    AUTO,
    NETWORK,
    NONE,
    SECURE_SOCKET_OPTIONS,
    SSL_ON_CONNECT,
    START_TLS,
)

PASSWORD_VARIABLE = "Umbraco__CMS__Global__Smtp__Password"  # noqa: S105 (a name, not a secret)
ORIGIN = "Try settings form"


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    host: str
    port: int
    security: str
    username: str = ""
    note: str = ""

    def as_data(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "username": self.username,
        }


PRESETS = (
    Preset(
        "sendgrid",
        "SendGrid",
        "smtp.sendgrid.net",
        587,
        START_TLS,
        "apikey",
        "The user name is literally apikey; the password is an API key with Mail Send access.",
    ),
    Preset(
        "mailgun",
        "Mailgun",
        "smtp.mailgun.org",
        587,
        START_TLS,
        "",
        "Use your sending domain's SMTP user (postmaster@mg.yourdomain.com) and its password;"
        " EU region: smtp.eu.mailgun.org.",
    ),
    Preset(
        "ses",
        "Amazon SES",
        "email-smtp.us-east-1.amazonaws.com",
        587,
        START_TLS,
        "",
        "Replace us-east-1 with your SES region; use SMTP credentials from the SES console, not"
        " IAM access keys.",
    ),
    Preset(
        "postmark",
        "Postmark",
        "smtp.postmarkapp.com",
        587,
        START_TLS,
        "",
        "User name and password are both your server's API token.",
    ),
    Preset(
        "microsoft365",
        "Microsoft 365",
        "smtp.office365.com",
        587,
        START_TLS,
        "",
        "A licensed mailbox with SMTP AUTH enabled; From must be that mailbox.",
    ),
    Preset(
        "gmail",
        "Gmail",
        "smtp.gmail.com",
        587,
        START_TLS,
        "",
        "Use an app password (Google account > Security > App passwords), not your own.",
    ),
)
PRESETS_BY_KEY = {preset.key: preset for preset in PRESETS}

_SECURITY_HELP = {
    AUTO: "Auto (the default)",
    SSL_ON_CONNECT: "SslOnConnect (port 465)",
    START_TLS: "StartTls (port 587)",
    "StartTlsWhenAvailable": "StartTlsWhenAvailable",
    NONE: "None (no TLS)",
}


def _validated(parse: Any, value: str) -> str:
    try:
        return parse(value)
    except convert.Invalid as error:
        raise forms.ValidationError(f"Enter {error.expected}.") from None


class TrySettingsForm(forms.Form):
    host = forms.CharField(
        label="Host",
        max_length=253,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    port = forms.IntegerField(label="Port", min_value=1, max_value=65535, initial=587)
    security = forms.ChoiceField(
        label="TLS (SecureSocketOptions)",
        choices=[(value, _SECURITY_HELP[value]) for value in SECURE_SOCKET_OPTIONS],
        initial=AUTO,
        help_text="SslOnConnect: TLS from the first byte. StartTls: STARTTLS required."
        " Auto: SslOnConnect on 465, else STARTTLS when offered.",
    )
    username = forms.CharField(
        label="User name",
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Password",
        required=False,
        max_length=1000,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
        help_text="Used for this check only: never saved, never shown again.",
    )
    from_address = forms.CharField(
        label="From address (for the snippets)",
        required=False,
        max_length=500,
        help_text="Not used by the check, which sends no mail.",
    )

    def clean_host(self) -> str:
        return _validated(host_name, self.cleaned_data["host"].strip())

    def clean_from_address(self) -> str:
        value = self.cleaned_data.get("from_address", "").strip()
        return _validated(sender_address, value) if value else ""

    def settings(self) -> SmtpSettings:
        """The form's values as SmtpSettings, in memory; the CA file and client domain are the
        effective ones, since they belong to this machine rather than to the provider."""
        data = self.cleaned_data
        current = current_smtp_settings()

        def typed(value: Any) -> Setting:
            return Setting(value, ORIGIN) if value not in (None, "") else Setting()

        return SmtpSettings(
            from_address=typed(data.get("from_address")),
            host=typed(data["host"]),
            port=typed(data["port"]),
            username=typed(data.get("username", "").strip()),
            password=Setting(Secret(data["password"]), ORIGIN)
            if data.get("password")
            else Setting(),
            secure_socket_options=typed(data["security"]),
            delivery_method=Setting(NETWORK, ORIGIN),
            client_domain=current.client_domain,
            ca_file=current.ca_file,
        )

    def described(self) -> Result:
        data = self.cleaned_data
        login = f"login as {data['username']}" if data.get("username") else "no login"
        if data.get("username") and not data.get("password"):
            login = f"no login (a user name without a password: {data['username']})"
        return Result.success(
            f"Trying {data['host']}:{data['port']}, SecureSocketOptions {data['security']},"
            f" {login}. Nothing is saved.",
            step="settings",
        )


def initial_values(preset_key: str | None) -> tuple[dict[str, Any], Preset | None]:
    """Initial form values: a preset's, else the effective settings' (never the password)."""
    preset = PRESETS_BY_KEY.get(preset_key or "")
    current = current_smtp_settings()
    values: dict[str, Any] = {"from_address": current.from_address.value or ""}
    if preset is not None:
        values.update(preset.as_data())
        return values, preset
    if current.host.value:
        values.update(
            host=current.host.value,
            port=current.port.value or 587,
            security=current.secure_socket_options.value or AUTO,
            username=current.username.value or "",
        )
    return values, None


def presets_data() -> dict[str, dict[str, Any]]:
    """For the page's script: each preset's field values and note."""
    return {p.key: {**p.as_data(), "note": p.note} for p in PRESETS}


@dataclass(frozen=True)
class Snippets:
    web_config: str
    appsettings: str
    environment: str
    notes: tuple[str, ...]


def snippets(smtp: SmtpSettings, used_tls: bool) -> Snippets:
    """What to paste into web.config or appsettings.json; the password stays a placeholder."""
    host, port = smtp.host.value, int(smtp.port.value)
    security = smtp.secure_socket_options.value or AUTO
    username = smtp.username.value or ""
    sender = smtp.from_address.value or "website@yourdomain.com"
    logs_in = bool(username)
    notes = []
    if not smtp.from_address.value:
        notes.append("Replace website@yourdomain.com with the sender address your provider allows.")

    enable_ssl = security in (START_TLS, SSL_ON_CONNECT) or (security != NONE and used_tls)
    if security == SSL_ON_CONNECT and port != 465:
        notes.append(
            "web.config's enableSsl means implicit TLS only on port 465; for SslOnConnect on"
            f" port {port} use appsettings.json, or set"
            " Umbraco__CMS__Global__Smtp__SecureSocketOptions."
        )
    elif security not in (START_TLS, SSL_ON_CONNECT, NONE):
        notes.append(
            f'web.config has no "{security}": enableSsl="{str(enable_ssl).lower()}" requires'
            f" {'TLS' if enable_ssl else 'no TLS'}, which is what worked in this check."
        )
    attributes = [
        f"host={quoteattr(host)}",
        f'port="{port}"',
        f'enableSsl="{str(enable_ssl).lower()}"',
    ]
    if logs_in:
        attributes.append(f"userName={quoteattr(username)}")
    password_comment = (
        f"\n      <!-- the password: set the environment variable {PASSWORD_VARIABLE} -->"
        if logs_in
        else ""
    )
    web_config = (
        "<system.net>\n"
        "  <mailSettings>\n"
        f'    <smtp from={quoteattr(sender)} deliveryMethod="Network">\n'
        f"      <network {' '.join(attributes)} />{password_comment}\n"
        "    </smtp>\n"
        "  </mailSettings>\n"
        "</system.net>"
    )
    members = [
        f'"From": {json.dumps(sender)}',
        f'"Host": {json.dumps(host)}',
        f'"Port": {port}',
        f'"SecureSocketOptions": {json.dumps(security)}',
    ]
    if logs_in:
        members.append(f'"Username": {json.dumps(username)}')
    body = ",\n        ".join(members)
    comment = (
        f"\n        // the password: set the environment variable {PASSWORD_VARIABLE}"
        if logs_in
        else ""
    )
    appsettings = (
        "{\n"
        '  "Umbraco": { "CMS": { "Global": {\n'
        '      "Smtp": {\n'
        f"        {body}{comment}\n"
        "      }\n"
        "  } } }\n"
        "}"
    )
    environment = f"{PASSWORD_VARIABLE}='<your password>'" if logs_in else ""
    return Snippets(web_config, appsettings, environment, tuple(notes))
