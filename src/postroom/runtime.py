"""Where Postroom runs: environment name, site directory and data directory.

The values come from the configuration's hosting reader (:mod:`postroom.config.hosting`),
so that every part of Postroom agrees on them. The command line sets ``--site`` before
Django starts.
"""

from __future__ import annotations

import os
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
            changes.append(f"{path} (mode {current:o} -> {mode:o})")
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
