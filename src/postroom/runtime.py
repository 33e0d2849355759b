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


PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077


def keep_files_private() -> None:
    """Files and directories this process creates are readable by its own user only.

    Set first thing by every ``postroom`` command: the database, its WAL and SHM files, the
    secret key, uploads and the catcher's key are created private whatever the shell's umask.
    """
    os.umask(PRIVATE_UMASK)


def secure_data_dir(path: Path | None = None) -> list[str]:
    """Create the data directory 0700 and make it, and everything in it, private.

    Returns one sentence per change, for the start-up log. Symbolic links are neither followed
    nor changed: what they point at is not Postroom's.
    """
    path = path or data_dir()
    path.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    changes: list[str] = []
    if os.name == "nt":
        return changes
    for directory, _subdirs, files in os.walk(path):
        here = Path(directory)
        _make_private(here, PRIVATE_DIRECTORY, changes)
        for name in files:
            file = here / name
            if not file.is_symlink():
                _make_private(file, PRIVATE_FILE, changes)
    return changes


def _make_private(path: Path, mode: int, changes: list[str]) -> None:
    try:
        current = path.stat().st_mode & 0o7777
        if current & 0o077:
            os.chmod(path, mode)
            changes.append(f"{path}: {current:o} -> {mode:o}")
    except OSError as error:
        changes.append(f"{path}: could not change its mode {error.strerror or error}")


def readable_by_others(paths: list[Path]) -> list[tuple[Path, int]]:
    """Those of ``paths`` that exist and that other users may read or enter, with their modes."""
    exposed = []
    for path in paths:
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            continue
        if mode & 0o077:
            exposed.append((path, mode))
    return exposed
