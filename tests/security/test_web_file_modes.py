"""What Postroom keeps on disk is readable by its own user only, whatever the umask.

Before, the SQLite database and its WAL were mode 0644 in a 0755 directory: every user on the
machine could read every message, user and password hash.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)  # inherited by the serve process
    yield
    os.umask(old)


def test_a_new_install_is_private_with_umask_022(serve_on_sqlite, loose_umask):
    served = serve_on_sqlite()
    served.healthz_latencies(3)  # the web has opened the database (WAL and SHM exist)
    data = served.data_dir
    assert mode(data) == 0o700
    for name in ("postroom.sqlite3", "postroom.sqlite3-wal", "postroom.sqlite3-shm", "secret_key"):
        assert mode(data / name) == 0o600, name
    tls = data / "inbox-tls"
    assert mode(tls) == 0o700
    assert mode(tls / "key.pem") == 0o600 and mode(tls / "cert.pem") == 0o600


def test_an_existing_0644_install_is_tightened_on_start(serve_on_sqlite, loose_umask, tmp_path):
    data = tmp_path / "old-install"
    data.mkdir()
    os.chmod(data, 0o755)  # noqa: S103 (the loose mode under test)
    with sqlite3.connect(data / "postroom.sqlite3") as connection:
        connection.execute("PRAGMA journal_mode=WAL")
    os.chmod(data / "postroom.sqlite3", 0o644)
    (data / "secret_key").write_text("k" * 60)
    os.chmod(data / "secret_key", 0o644)

    served = serve_on_sqlite("--no-inbox", POSTROOM_DATA=str(data))
    served.healthz_latencies(3)

    assert mode(data) == 0o700
    for name in ("postroom.sqlite3", "postroom.sqlite3-wal", "postroom.sqlite3-shm", "secret_key"):
        assert mode(data / name) == 0o600, name
    log = served.log.read_text()
    assert "Made the data directory private" in log
    assert f"{data / 'postroom.sqlite3'} (mode 644 -> 600)" in log
