"""Where Postroom runs: environment name, site directory and data directory.

These are read from the process environment once, here, so that every part of Postroom
agrees on them. The command line sets them (``--site``) before Django starts.
"""

from __future__ import annotations

import os
from pathlib import Path

DEVELOPMENT = "Development"
PRODUCTION = "Production"


def environment_name() -> str:
    """``POSTROOM_ENVIRONMENT``, as .NET names it: Development (default) or Production."""
    value = os.environ.get("POSTROOM_ENVIRONMENT", "").strip()
    if not value:
        return DEVELOPMENT
    for known in (DEVELOPMENT, PRODUCTION):
        if value.lower() == known.lower():
            return known
    return value  # a custom name such as "Staging" selects appsettings.Staging.json


def is_development() -> bool:
    return environment_name() == DEVELOPMENT


def site_dir() -> Path:
    """The directory that holds web.config and appsettings*.json (``--site``/``POSTROOM_SITE``)."""
    return Path(os.environ.get("POSTROOM_SITE") or os.getcwd()).resolve()


def data_dir() -> Path:
    """Where Postroom keeps its database and generated files (``POSTROOM_DATA``)."""
    configured = os.environ.get("POSTROOM_DATA")
    path = Path(configured) if configured else site_dir() / ".postroom"
    return path.resolve()
