"""A value that stops a part stops it at start, with a clear message and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from processes import postroom_env

SCRIPT = Path(sys.executable).parent / "postroom"


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=postroom_env(tmp_path, None, **env),
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", [["worker"], ["worker", "--burst"], ["serve", "--port", "0"]])
def test_a_lease_of_5m_refuses_to_start_naming_variable_value_and_fix(tmp_path, command):
    result = run(tmp_path, *command, POSTROOM_LEASE_SECONDS="5m")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "cannot start" in result.stderr
    assert "POSTROOM_LEASE_SECONDS is '5m'" in result.stderr
    assert "Fix: " in result.stderr and "POSTROOM_LEASE_SECONDS=300" in result.stderr
    assert "Backoffice:" not in result.stdout  # nothing was started


def test_an_unusable_port_stops_the_web_command(tmp_path):
    result = run(tmp_path, "web", POSTROOM_PORT="eighty")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "POSTROOM_PORT is 'eighty'" in result.stderr


def test_an_unusable_inbox_port_stops_the_catcher(tmp_path):
    result = run(tmp_path, "inbox", POSTROOM_INBOX_PORT="25x")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "POSTROOM_INBOX_PORT is '25x'" in result.stderr
