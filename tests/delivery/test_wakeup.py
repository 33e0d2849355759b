"""Idle workers wake when mail is queued: at once in-process, by NOTIFY across machines."""

import time

import dj_database_url
import psycopg

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
