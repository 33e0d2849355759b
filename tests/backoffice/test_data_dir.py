"""The data directory and what Postroom writes in it are readable by Postroom's user only."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from postroom import runtime
from postroom.health.registry import get_check
from postroom.health.runner import run_check


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def loose_install(data: Path) -> None:
    """A data directory as an older Postroom (or a loose umask) left it."""
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # noqa: S103 (the loose mode under test)
    for name in ("postroom.sqlite3", "secret_key"):
        (data / name).write_text("x")
        os.chmod(data / name, 0o644)
    (data / "inbox-tls").mkdir()
    os.chmod(data / "inbox-tls", 0o755)  # noqa: S103
    (data / "inbox-tls" / "cert.pem").write_text("x")
    os.chmod(data / "inbox-tls" / "cert.pem", 0o644)


def test_a_new_data_directory_is_created_private_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        runtime.secure_data_dir(tmp_path / "new" / "data")
    finally:
        os.umask(old)
    assert mode(tmp_path / "new" / "data") == 0o700


def test_an_existing_loose_install_is_tightened_and_each_change_is_named(tmp_path):
    data = tmp_path / "data"
    loose_install(data)
    outside = tmp_path / "site-file"
    outside.write_text("the site's")
    os.chmod(outside, 0o644)
    (data / "link").symlink_to(outside)

    changes = runtime.secure_data_dir(data)

    assert mode(data) == 0o700
    assert mode(data / "inbox-tls") == 0o700
    for name in ("postroom.sqlite3", "secret_key", "inbox-tls/cert.pem"):
        assert mode(data / name) == 0o600, name
    assert f"{data} (mode 755 -> 700)" in changes
    assert f"{data / 'secret_key'} (mode 644 -> 600)" in changes
    assert mode(outside) == 0o644  # a link is not followed: what it points at is not ours
    assert runtime.secure_data_dir(data) == []  # nothing more to do the second time


@pytest.mark.django_db
def test_start_up_logs_what_it_tightened(tmp_path, settings, caplog):
    from postroom.startup import prepare_database

    data = tmp_path / "loose"
    loose_install(data)
    settings.DATA_DIR = data
    caplog.set_level(logging.WARNING, logger="postroom.startup")

    prepare_database()

    assert mode(data) == 0o700
    [record] = [r for r in caplog.records if r.name == "postroom.startup"]
    assert record.getMessage().startswith("Made the data directory private")
    assert f"{data / 'secret_key'} (mode 644 -> 600)" in record.getMessage()


@pytest.fixture
def database_in(monkeypatch):
    def use(data: Path) -> None:
        db = data / "postroom.sqlite3"
        files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
        monkeypatch.setattr("postroom.startup.sqlite_files", lambda: files)

    return use


def test_the_health_check_warns_when_others_can_read_the_data_directory(
    tmp_path, settings, database_in
):
    data = tmp_path / "data"
    loose_install(data)
    settings.DATA_DIR = data
    database_in(data)

    run = run_check(get_check("security-data-dir"))

    assert run.status == "warning"
    texts = {result.message: result.fix for result in run.results}
    assert texts[f"{data} can be entered by other users on this machine (mode 755)."] == (
        f"chmod 700 {data} (Postroom also does this when it starts)."
    )
    db = data / "postroom.sqlite3"
    assert (
        f"chmod 600 {db}" in texts[f"{db} can be read by other users on this machine (mode 644)."]
    )


def test_the_health_check_passes_for_a_private_data_directory(tmp_path, settings, database_in):
    data = tmp_path / "data"
    loose_install(data)
    runtime.secure_data_dir(data)
    settings.DATA_DIR = data
    database_in(data)

    run = run_check(get_check("security-data-dir"))

    assert run.status == "success"
