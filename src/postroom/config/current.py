"""The current values of any setting, re-read on change: the SMTP settings, and a raw key of
the layered map (``read_setting("Umbraco:CMS:Security:AllowPasswordReset")``) for settings
that no section names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from postroom.config.backup import backup_smtp_settings
from postroom.config.snapshot import current_config, current_layers
from postroom.mailsettings import convert
from postroom.mailsettings.layers import Container
from postroom.mailsettings.model import Problem, Secret, Setting, SmtpSettings

_SECRET_WORDS = ("password", "secret", "apikey", "token")


def current_smtp_settings() -> SmtpSettings:
    """The settings for this process's site, environment and variables, re-read on change."""
    return current_config().smtp


def current_backup_settings() -> SmtpSettings | None:
    """The backup connection's settings (``Postroom:Smtp:Backup``), or None when none is set."""
    config = current_config()
    return backup_smtp_settings(config.backup, config.smtp)


def read_setting(key: str) -> Setting:
    """The current raw value of any colon path, e.g. ``Umbraco:CMS:Security:AllowPasswordReset``.

    The value is as written: a string (always, from web.config and the environment), or a
    JSON number or boolean. Keys that hold an object or array have no value; read their
    children (``Key:0``). Keys whose last part ends in Password, Secret, ApiKey or Token
    give a :class:`Secret`.
    """
    entry = current_layers().get(key)
    if entry is None:
        return Setting()
    value = entry.value
    if isinstance(value, Container) or entry.is_blank:
        return Setting(None, entry.origin)
    if isinstance(value, str) and _is_secret(key):
        value = Secret(value)
    return Setting(value, entry.origin)


def read_bool(key: str, default: bool) -> tuple[Setting, Problem | None]:
    """A true/false setting; the default (origin "default") when unset or invalid."""
    return _typed(key, default, convert.to_bool)


def read_int(
    key: str, default: int, low: int = 0, high: int = 2**31 - 1
) -> tuple[Setting, Problem | None]:
    """A whole-number setting; the default (origin "default") when unset or invalid."""
    return _typed(key, default, lambda value: convert.to_int(value, low, high))


def _typed(
    key: str, default: object, parse: Callable[[Any], Any]
) -> tuple[Setting, Problem | None]:
    entry = current_layers().get(key)
    if entry is None or entry.is_blank:
        return Setting(default, "default"), None
    try:
        return Setting(parse(entry.value), entry.origin), None
    except convert.Invalid as error:
        problem = Problem(
            entry.source,
            f"{entry.name} is {convert.describe(entry.value, secret=_is_secret(key))};"
            f" expected {error.expected}.",
            line=entry.line,
            hint=f"The default {default!r} is used until it is fixed.",
        )
        return Setting(default, "default"), problem


def _is_secret(key: str) -> bool:
    return key.rsplit(":", 1)[-1].lower().endswith(_SECRET_WORDS)
