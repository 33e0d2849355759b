"""From the layered map to SmtpSettings: typed fields, defaults, and checks across fields."""

from __future__ import annotations

import os
import re
import ssl
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from postroom.mailsettings import convert
from postroom.mailsettings.fields import EXACT_FIELDS, FIELDS, POSTROOM_KEYS, SMTP_KEYS, Field
from postroom.mailsettings.layers import OBJECT, POSTROOM_SMTP, SMTP, Entry, Layers
from postroom.mailsettings.model import (
    AUTO,
    NETWORK,
    NONE,
    PICKUP_DIRECTORY,
    PICKUP_FROM_IIS,
    SSL_ON_CONNECT,
    START_TLS,
    Problem,
    Report,
    Setting,
    SmtpSettings,
)

PLACEHOLDER_FROM = "noreply@example.com"
# Template senders and where they come from: a site still using one has not set mail up.
PLACEHOLDER_FROMS = {
    PLACEHOLDER_FROM: "the placeholder value from the documentation",
    "your@email.here": "the placeholder value from Umbraco's appsettings.json template",
}
PLACEHOLDER_USERNAME = "username"
DEFAULT_TIMEOUT = 30.0
MAX_UNKNOWN_KEYS = 10  # warnings about unknown keys per section, then one that counts the rest
_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")

_SECTIONS = ("umbraco", "umbraco:cms", "umbraco:cms:global", SMTP, "postroom", POSTROOM_SMTP)
_SECTIONS += (f"{POSTROOM_SMTP}:backup",)


def build_settings(layers: Layers, report: Report, site_dir: Path) -> SmtpSettings:
    _check_sections(layers, report)
    _check_unknown_keys(layers, report, SMTP, SMTP_KEYS)
    _check_unknown_keys(layers, report, POSTROOM_SMTP, POSTROOM_KEYS)
    values: dict[str, Setting] = {}
    entries: dict[str, Entry] = {}
    invalid: set[str] = set()
    tokens = False
    for field in FIELDS:
        entry = layers.get(field.key)
        if entry is None or entry.is_blank:
            values[field.name] = Setting()
            if entry is not None:
                _warn_if_hiding(layers, field, entry, report)
            continue
        entries[field.name] = entry
        if convert.is_deployment_token(entry.value):
            tokens = True
            invalid.add(field.name)
            values[field.name] = Setting(None, entry.origin)
            report.warnings.append(_token_warning(entry, field.name))
            continue
        try:
            values[field.name] = Setting(field.convert(entry.value), entry.origin)
            if field.name in EXACT_FIELDS:
                _warn_if_spaced(entry, field.name, report)
        except convert.Invalid as error:
            invalid.add(field.name)
            values[field.name] = Setting(None, entry.origin)
            shown = convert.describe(entry.value, secret=field.name == "password")
            report.errors.append(
                _problem(
                    entry,
                    field.name,
                    f"{entry.name} is {shown}; expected {error.expected}.",
                    field.hint,
                )
            )
    _apply_defaults(values, invalid)
    for name in ("pickup_directory", "ca_file"):
        if values[name].is_set:
            values[name] = Setting(_resolve(values[name].value, site_dir), values[name].origin)
    placeholder = _check(values, entries, invalid, report, site_dir) or tokens
    return SmtpSettings(
        **{attr: values[name] for name, attr in SmtpSettings.JSON_FIELDS},
        errors=tuple(report.errors),
        warnings=tuple(report.warnings),
        placeholder=placeholder,
    )


def _apply_defaults(values: dict[str, Setting], invalid: set[str]) -> None:
    def default(name: str, value: Any) -> None:
        if not values[name].is_set and name not in invalid:
            values[name] = Setting(value, "default")

    default("secure_socket_options", AUTO)
    default("port", 465 if values["secure_socket_options"].value == SSL_ON_CONNECT else 25)
    default("delivery_method", NETWORK)
    default("timeout", DEFAULT_TIMEOUT)


def _token_warning(entry: Entry, name: str) -> Problem:
    shown = convert.describe(entry.value, secret=name == "password")
    return _problem(
        entry,
        name,
        f"{entry.name} is {shown}, a deployment token that was never replaced"
        " (such as #{Name}#, __Name__, $(Name) or ${NAME}), so SMTP counts as not configured.",
        "Check that your deployment (Octopus, Azure DevOps, a build script) defines the variable"
        " and replaces tokens in this file, or write the value itself.",
    )


def _warn_if_spaced(entry: Entry, name: str, report: Report) -> None:
    value = entry.value
    if not isinstance(value, str) or value == value.strip():
        return
    where = "begins" if value[:1].isspace() else "ends"
    what = "password" if name == "password" else "user name"
    report.warnings.append(
        _problem(
            entry,
            name,
            f"{entry.name} {where} with a space; the {what} is used exactly as written,"
            " spaces included, as .NET does.",
            f"If the space is not part of the {what}, remove it.",
        )
    )


def _check(
    values: dict[str, Setting],
    entries: dict[str, Entry],
    invalid: set[str],
    report: Report,
    site_dir: Path,
) -> bool:
    """Checks across fields; returns whether template values are in use."""
    placeholder = False
    method = values["delivery_method"].value
    from_address = values["from"].value
    template = PLACEHOLDER_FROMS.get(parseaddr(from_address or "")[1].lower())
    if from_address and template:
        placeholder = True
        report.warnings.append(
            _problem(
                entries["from"],
                "from",
                f"The From address {parseaddr(from_address)[1]} is {template},"
                " so SMTP counts as not configured.",
                "Set From to an address of your own domain that your mail provider accepts.",
            )
        )
    username = values["username"].value
    if username and username.lower() == PLACEHOLDER_USERNAME:
        placeholder = True
        report.warnings.append(
            _problem(
                entries["username"],
                "username",
                f"The user name {username!r} is the placeholder value from the documentation,"
                " so SMTP counts as not configured.",
                "Set the user name (and password) your mail provider gave you.",
            )
        )
    if method == PICKUP_FROM_IIS:
        report.errors.append(
            _problem(
                entries["delivery_method"],
                "delivery_method",
                "DeliveryMethod PickupDirectoryFromIis is not supported: there is no IIS here.",
                "Use SpecifiedPickupDirectory with a pickup directory, or Network with a host.",
            )
        )
    elif method == PICKUP_DIRECTORY:
        _check_pickup_directory(values, entries, invalid, report, site_dir)
    elif values["pickup_directory"].is_set and values["delivery_method"].origin == "default":
        report.warnings.append(
            _problem(
                entries["pickup_directory"],
                "delivery_method",
                "A pickup directory is set but no delivery method, and the default is Network:"
                " mail goes to the SMTP server and the directory is ignored.",
                'To write files, set deliveryMethod="SpecifiedPickupDirectory" on <smtp>'
                " (DeliveryMethod in appsettings.json); otherwise remove the pickup directory.",
            )
        )
    wants_sender = method == PICKUP_DIRECTORY or (method == NETWORK and values["host"].is_set)
    if wants_sender and not values["from"].is_set and "from" not in invalid:
        where = entries.get("host") or entries.get("delivery_method")
        report.errors.append(
            _problem(
                where,
                "from",
                "Mail delivery is set up but there is no From address, and every message"
                " needs a sender.",
                'Set From, e.g. <smtp from="noreply@yoursite.com"> in web.config or'
                " Umbraco:CMS:Global:Smtp:From in appsettings.json.",
            )
        )
    no_host = not values["host"].is_set and "host" not in invalid
    if method == NETWORK and values["from"].is_set and no_host:
        report.warnings.append(
            _problem(  # the key of the line it points at: From
                entries["from"],
                "from",
                "A From address is set but no Host, so Postroom cannot send mail.",
                'Set Host to your SMTP server, e.g. <network host="smtp.example.com">.',
            )
        )
    if method == NETWORK and values["host"].is_set:
        _check_login(values, entries, invalid, report)
    _check_ca_file(values, entries, report)
    return placeholder


def _check_login(
    values: dict[str, Setting], entries: dict[str, Entry], invalid: set[str], report: Report
) -> None:
    # A field given as an unreplaced token counts as set here: its own warning says the rest.
    has_user = values["username"].is_set or "username" in invalid
    has_password = bool(values["password"].value) or "password" in invalid
    if has_user != has_password:
        present, missing = ("username", "password") if has_user else ("password", "username")
        report.warnings.append(
            _problem(  # the key of the line it points at: the one that is set
                entries[present],
                present,
                f"Only the {present} is set, and Postroom logs in only when both the user name"
                " and the password are set: it will send without logging in.",
                f"Set the {missing} too, or remove the {present} if the server needs no login.",
            )
        )
    options, port = values["secure_socket_options"].value, values["port"].value
    if has_user and has_password and options == NONE:
        report.warnings.append(
            _problem(
                entries.get("secure_socket_options") or entries["password"],
                "secure_socket_options",
                "A user name and password are set but SecureSocketOptions is None: the password"
                " would travel unencrypted.",
                "Use StartTls (port 587) or SslOnConnect (port 465); in web.config"
                ' enableSsl="true".',
            )
        )
    if (options == SSL_ON_CONNECT and port in (25, 587)) or (options == START_TLS and port == 465):
        report.warnings.append(
            _problem(
                entries.get("secure_socket_options") or entries.get("port"),
                "secure_socket_options",
                f"SecureSocketOptions {options} with port {port} rarely works: port 465 expects"
                " TLS from the start (SslOnConnect), ports 25 and 587 expect StartTls.",
                "Check the port and the TLS mode your mail provider gives, or use Auto.",
            )
        )


def _check_pickup_directory(
    values: dict[str, Setting],
    entries: dict[str, Entry],
    invalid: set[str],
    report: Report,
    site_dir: Path,
) -> None:
    setting = values["pickup_directory"]
    entry = entries.get("pickup_directory") or entries["delivery_method"]
    hint = (
        "Set PickupDirectoryLocation (web.config: <specifiedPickupDirectory"
        ' pickupDirectoryLocation="...">) to a directory this machine can write to.'
    )
    if not setting.is_set:
        if "pickup_directory" not in invalid:
            message = "DeliveryMethod is SpecifiedPickupDirectory but no pickup directory is set."
            report.errors.append(_problem(entry, "pickup_directory", message, hint))
        return
    path = setting.value
    not_absolute = _not_absolute(entry, site_dir)
    if not_absolute:
        message, hint = not_absolute
    elif os.name != "nt" and _WINDOWS_PATH.match(path):
        message = f"The pickup directory {path} is a Windows path; this machine is not Windows."
    elif not os.path.isdir(path):
        message = f"The pickup directory {path} does not exist or is not a directory."
        hint = f"Create it (mkdir -p {path}) or point PickupDirectoryLocation elsewhere."
    elif not os.access(path, os.W_OK | os.X_OK):
        message = f"The pickup directory {path} is not writable by the user Postroom runs as."
        hint = "Give that user write permission, or choose another directory."
    else:
        return
    report.errors.append(_problem(entry, "pickup_directory", message, hint))


def _not_absolute(entry: Entry, site_dir: Path) -> tuple[str, str] | None:
    """(message, hint) when .NET would refuse the directory as written: ``~/...`` anywhere,
    or any relative path in web.config ("Only absolute directories are allowed")."""
    written = str(entry.value).strip()
    from_xml = entry.source != "env" and not entry.source.endswith(".json")
    is_relative = not (written.startswith(("/", "\\")) or _WINDOWS_PATH.match(written))
    if not written.startswith("~") and not (from_xml and is_relative):
        return None
    rest = written.lstrip("~").replace("\\", "/").lstrip("/")
    meant = site_dir / rest if rest else site_dir
    if written.startswith("~"):
        message = (
            f"The pickup directory {written} starts with ~, which .NET does not expand here:"
            " SmtpClient accepts only absolute directories, so no mail could be written."
        )
        hint = (
            f"~ is the site's root only in ASP.NET pages; here it would be {site_dir}."
            f" Write the absolute path, e.g. {meant}."
        )
    else:
        message = (
            f"The pickup directory {written} is relative; .NET accepts only absolute directories"
            " there (Only absolute directories are allowed for pickup directory)."
        )
        hint = f"Write the absolute path, e.g. {meant} for a directory inside the site."
    return message, hint


def _check_ca_file(values: dict[str, Setting], entries: dict[str, Entry], report: Report) -> None:
    path = values["ca_file"].value
    if not path:
        return
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
        return
    except FileNotFoundError:
        message = f"The CA file {path} does not exist."
    except (OSError, ssl.SSLError, ValueError):
        message = f"The CA file {path} cannot be read as PEM certificates."
    hint = "Set Postroom:Smtp:CaFile to a PEM file of the CA certificates to trust, or remove it."
    report.errors.append(_problem(entries["ca_file"], "ca_file", message, hint))


def _check_sections(layers: Layers, report: Report) -> None:
    for section in _SECTIONS:
        for entry in layers.history(section):
            if entry.value == OBJECT or entry.is_blank:
                continue
            shown = convert.describe(entry.value, secret=True)
            message = f"{entry.name} must be an object {{ ... }} of settings, not {shown}."
            if entry.source == "env":
                hint = f"Remove {entry.name}; set single keys such as {entry.name}__Host."
            else:
                last = entry.name.rsplit(":", 1)[-1]
                hint = f'Write "{last}": {{ ... }} with the settings inside.'
            report.errors.append(_problem(entry, None, message, hint))


def _check_unknown_keys(
    layers: Layers, report: Report, section: str, known: tuple[str, ...]
) -> None:
    lowered = {key.lower() for key in known}
    unknown = [
        entry
        for key, entry in layers.children(section)
        if key.rsplit(":", 1)[-1] not in lowered and entry.source != "web.config"
    ]
    hint = f"Check the spelling; the known keys are {', '.join(known)}."
    for entry in unknown[:MAX_UNKNOWN_KEYS]:
        message = f"{entry.name} is not a setting Postroom knows; it is ignored."
        report.warnings.append(_problem(entry, None, message, hint))
    if len(unknown) > MAX_UNKNOWN_KEYS:
        message = f"{len(unknown) - MAX_UNKNOWN_KEYS} more unknown keys are ignored as well."
        report.warnings.append(_problem(unknown[MAX_UNKNOWN_KEYS], None, message, hint))


def _warn_if_hiding(layers: Layers, field: Field, blank: Entry, report: Report) -> None:
    hidden = next((e for e in reversed(layers.history(field.key)[:-1]) if not e.is_blank), None)
    if hidden is not None:
        report.warnings.append(
            _problem(
                blank,
                field.name,
                f"{blank.name} is empty, which hides the value from {hidden.origin}.",
                f"Remove the empty {blank.name} to use the value from {hidden.origin}.",
            )
        )


def _resolve(value: str, site_dir: Path) -> str:
    if os.name != "nt" and _WINDOWS_PATH.match(value):
        return value  # reported by the pickup directory check; resolving it would be nonsense
    path = Path(value.replace("\\", "/")) if os.name != "nt" else Path(value)
    return str(path if path.is_absolute() else (site_dir / path).resolve())


def _problem(entry: Entry | None, key: str | None, message: str, hint: str) -> Problem:
    if entry is None:
        return Problem("settings", message, key=key, hint=hint)
    return Problem(entry.source, message, line=entry.line, key=key, hint=hint)
