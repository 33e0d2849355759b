"""Where Postroom runs: environment name, site directory and data directory.

The values come from the configuration's hosting reader (:mod:`postroom.config.hosting`),
so that every part of Postroom agrees on them. The command line sets ``--site`` before
Django starts.
"""

from __future__ import annotations

from pathlib import Path

from postroom.config import hosting

DEVELOPMENT = hosting.DEVELOPMENT
PRODUCTION = hosting.PRODUCTION


def environment_name() -> str:
    """``POSTROOM_ENVIRONMENT``, as .NET names it: Development (default) or Production."""
    return hosting.environment_name(hosting.process_environ())


def is_development() -> bool:
    return environment_name() == DEVELOPMENT


def site_dir() -> Path:
    """The directory that holds web.config and appsettings*.json (``--site``/``POSTROOM_SITE``)."""
    return hosting.site_dir(hosting.process_environ())


def data_dir() -> Path:
    """Where Postroom keeps its database and generated files (``POSTROOM_DATA``)."""
    return hosting.data_dir(hosting.process_environ())
