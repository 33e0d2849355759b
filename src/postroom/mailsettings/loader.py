"""The entry points: load the settings for a site, or get the current ones, re-read on change.

The current settings are the ``smtp`` section of :func:`postroom.config.current_config`,
which stats the files they depend on at every call and reads them again when one changed
(mtime, size, inode), appeared or disappeared, or when a variable changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postroom.mailsettings import convert
from postroom.mailsettings.layers import Container, Layers
from postroom.mailsettings.model import Problem, Report, Secret, Setting, SmtpSettings
from postroom.mailsettings.sources import read_sources
from postroom.mailsettings.validate import build_settings

log = logging.getLogger(__name__)

_SECRET_WORDS = ("password", "secret", "apikey", "token")


@dataclass(frozen=True)
class Loaded:
    settings: SmtpSettings
    layers: Layers
    # (path, whether its times count): the pickup directory's times change with every message
    # written into it, so only its presence, mode and owner count.
    watched: tuple[tuple[Path, bool], ...]


def load_smtp_settings(
    site_dir: Path, environment: str, environ: Mapping[str, str]
) -> SmtpSettings:
    """The effective SMTP settings of the site; every problem is reported in it, none raised."""
    return load_sources(site_dir, environment, environ).settings


def current_smtp_settings() -> SmtpSettings:
    """The settings for this process's site, environment and variables, re-read on change."""
    from postroom.config import current_config

    return current_config().smtp


def _layers() -> Layers:
    from postroom.config.snapshot import current_layers

    return current_layers()


def read_setting(key: str) -> Setting:
    """The current raw value of any colon path, e.g. ``Umbraco:CMS:Security:AllowPasswordReset``.

    The value is as written: a string (always, from web.config and the environment), or a
    JSON number or boolean. Keys that hold an object or array have no value; read their
    children (``Key:0``). Keys whose last part ends in Password, Secret, ApiKey or Token
    give a :class:`Secret`.
    """
    entry = _layers().get(key)
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
    entry = _layers().get(key)
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


def load_sources(site_dir: Path, environment: str, environ: Mapping[str, str]) -> Loaded:
    try:
        sources = read_sources(site_dir, environment, environ)
        settings = build_settings(sources.layers, sources.report, site_dir)
        watched = [(path, True) for path in sources.watched]
        if settings.ca_file.value:
            watched.append((Path(settings.ca_file.value), True))
        if settings.pickup_directory.value:
            watched.append((Path(settings.pickup_directory.value), False))
        return Loaded(settings, sources.layers, tuple(watched))
    except Exception as error:  # the loader reports, it never raises
        # Only the type: an exception's text might quote a value such as the password.
        log.error("Reading the SMTP settings failed: %s", type(error).__name__)
        problem = Problem(
            "settings",
            f"Reading the SMTP settings failed unexpectedly ({type(error).__name__}).",
            hint="Please report this as a bug in Postroom, with the configuration files.",
        )
        report = Report(errors=[problem])
        return Loaded(SmtpSettings(errors=tuple(report.errors)), Layers(), ((site_dir, True),))
