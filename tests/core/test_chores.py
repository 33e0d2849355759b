"""The chore scheduler: each chore isolated, slow ones in a thread of their own."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from postroom.core import chores


@pytest.fixture
def only_these_chores(monkeypatch):
    """An empty scheduler for the test; the apps' own chores are left out."""
    monkeypatch.setattr(chores, "_chores", {})
    monkeypatch.setattr(chores, "_threads", {})


def test_a_failing_chore_is_logged_and_never_skips_the_others(only_these_chores, caplog):
    ran = []

    def broken() -> None:
        raise RuntimeError("the disk is full")

    chores.register("first", lambda: ran.append("first"))
    chores.register("broken", broken)
    chores.register("last", lambda: ran.append("last"))
    with caplog.at_level(logging.ERROR, logger="postroom.chores"):
        chores.run_all()
    assert ran == ["first", "last"]
    assert "The chore 'broken' failed" in caplog.text
    assert "the disk is full" in caplog.text


def test_a_slow_chore_in_its_own_thread_never_holds_up_the_caller(only_these_chores):
    release, started = threading.Event(), threading.Event()
    where = []

    def slow() -> None:
        where.append(threading.current_thread().name)
        started.set()
        release.wait(10)

    chores.register("slow", slow, own_thread=True)
    began = time.monotonic()
    chores.run_all()
    assert time.monotonic() - began < 1.0
    assert started.wait(5)
    assert where == ["postroom-chore-slow"]

    chores.run_all()  # still running: not started twice
    release.set()
    assert chores.wait_for_threads(5)
    assert where == ["postroom-chore-slow"]


def test_inline_runs_even_slow_chores_here(only_these_chores):
    where = []
    chores.register("slow", lambda: where.append(threading.current_thread()), own_thread=True)
    chores.run_all(inline=True)
    assert where == [threading.current_thread()]
