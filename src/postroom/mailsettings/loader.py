"""The entry point: load the SMTP settings (and the layered map) of a site, reporting every
problem and raising none. The current values, re-read on change, are the configuration
snapshot's (:func:`postroom.config.current_config`), which calls this."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from postroom.mailsettings.layers import Layers
from postroom.mailsettings.model import Problem, Report, SmtpSettings
from postroom.mailsettings.sources import read_sources
from postroom.mailsettings.validate import build_settings

log = logging.getLogger(__name__)


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
