"""The console script, run as a site owner runs it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest


@pytest.fixture
def postroom_cli(tmp_path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``postroom_cli(*args, **env)`` runs ``postroom ARGS`` in a new process, in tmp_path,
    with a bare environment plus ``env`` and no terminal (as under cron, CI or a pipe)."""

    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "postroom.cli", *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin", "POSTROOM_DATA": str(tmp_path / "data"), **env},
        )

    return run
