"""Idle workers wake when mail is queued: at once in-process, by NOTIFY across machines."""

import sqlite3
import time

import dj_database_url
import psycopg
import pytest

from postroom.delivery.wakeup import CHANNEL, Waiter

POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


def test_a_worker_on_another_machine_wakes_on_postgres_notify():
    waiter = Waiter(dj_database_url.parse(POSTGRES))
    try:
        waiter.wait(0.05)  # starts listening; forgets earlier in-process wake-ups
        assert not waiter.wait(0.3)
        with psycopg.connect(POSTGRES, autocommit=True) as other:
            other.execute(f"NOTIFY {CHANNEL}")
        started = time.monotonic()
        assert waiter.wait(5.0)
        assert time.monotonic() - started < 1.0
        assert waiter.idle_seconds == 5.0  # listening: polling can be rare
    finally:
        waiter.close()


def test_an_uncommitted_notify_wakes_nobody():
    waiter = Waiter(dj_database_url.parse(POSTGRES))
    try:
        waiter.wait(0.05)
        with psycopg.connect(POSTGRES) as other:
            other.execute(f"NOTIFY {CHANNEL}")
            assert not waiter.wait(0.5)
            other.rollback()
        assert not waiter.wait(0.5)
    finally:
        waiter.close()


@pytest.fixture
def sqlite_file(tmp_path):
    """A SQLite database file, and a waiter watching it as a worker in another process would."""
    path = tmp_path / "postroom.sqlite3"
    sqlite3.connect(path).close()
    waiter = Waiter({"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)})
    yield path, waiter
    waiter.close()


def test_a_worker_in_another_process_wakes_when_the_sqlite_file_changes(sqlite_file):
    path, waiter = sqlite_file
    assert waiter.wait(0.05)  # began watching: look for mail queued before now
    assert not waiter.wait(0.3)
    assert waiter.idle_seconds == 5.0  # watching: polling can be rare
    other = sqlite3.connect(path)  # another process's enqueue
    other.execute("CREATE TABLE outbox (id INTEGER)")
    other.commit()
    started = time.monotonic()
    assert waiter.wait(5.0)
    assert time.monotonic() - started < 0.5
    assert not waiter.wait(0.3)  # once per change


def test_an_uncommitted_sqlite_write_wakes_nobody(sqlite_file):
    path, waiter = sqlite_file
    waiter.wait(0.05)
    other = sqlite3.connect(path)
    other.execute("BEGIN")
    other.execute("CREATE TABLE outbox (id INTEGER)")
    assert not waiter.wait(0.5)
    other.rollback()
    assert not waiter.wait(0.3)


def test_a_lost_listen_connection_costs_no_cpu_and_is_made_again():
    waiter = Waiter(dj_database_url.parse(POSTGRES))
    try:
        waiter.wait(0.05)
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = %s",
                [f"LISTEN {CHANNEL}"],
            )
        cpu_before = time.process_time()
        waiter.wait(1.0)
        assert time.process_time() - cpu_before < 0.3  # waited, not spun
        waiter.wait(0.05)  # listens again
        with psycopg.connect(POSTGRES, autocommit=True) as other:
            other.execute(f"NOTIFY {CHANNEL}")
        assert waiter.wait(5.0)
    finally:
        waiter.close()
