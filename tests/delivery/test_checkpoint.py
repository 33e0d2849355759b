"""On SQLite the worker copies the write-ahead log into the database from a thread of its own,
so that no outcome's commit waits for that copy and its sync."""

import sqlite3
import time

import pytest
from django.db import connections
from django.db.utils import ConnectionHandler

from postroom.delivery import checkpoint, worker


def test_the_checkpoint_thread_copies_the_log_into_the_database(
    tmp_path, monkeypatch, django_db_blocker
):
    path = tmp_path / "postroom.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # as the worker's connections, nearly
    writer.execute("CREATE TABLE filler (body BLOB)")
    for _ in range(200):
        writer.execute("INSERT INTO filler VALUES (?)", [b"x" * 4000])
    before = path.stat().st_size
    assert before < 100_000  # the rows are still in the log only
    handler = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}}
    )
    monkeypatch.setattr(checkpoint, "connections", handler)
    checkpointer = checkpoint.Checkpointer(interval=0.01)
    with django_db_blocker.unblock():  # a database of its own, not the test database
        checkpointer.start()
        try:
            deadline = time.monotonic() + 10
            while path.stat().st_size < 800_000 and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            checkpointer.stop()
    assert path.stat().st_size >= 800_000  # 200 rows of 4 KB, now in the database file
    assert writer.execute("SELECT count(*) FROM filler").fetchone() == (200,)


def test_no_thread_on_postgresql(monkeypatch):
    handler = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "unused"}}
    )
    monkeypatch.setattr(checkpoint, "connections", handler)
    checkpointer = checkpoint.Checkpointer()
    checkpointer.start()
    checkpointer.stop()
    assert checkpointer._thread is None


@pytest.mark.django_db
def test_a_worker_connection_leaves_the_checkpoints_to_the_thread():
    worker._relax_commit_durability()
    checkpoint.leave_to_thread()
    connection = connections["default"]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_autocheckpoint")
            assert cursor.fetchone()[0] == checkpoint.FALLBACK_PAGES
        else:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "off"
