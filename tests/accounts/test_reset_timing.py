"""Password reset takes as long for an unknown address as for an account's: no enumeration.

50 requests of each, interleaved, through the whole view in this process; the medians must
lie within 2 ms. The time measured is this thread's CPU time, the work done: on a busy machine
wall-clock time mostly measures how often the scheduler preempted the test.
(tests/security/test_accounts.py measures wall-clock time over HTTP, with a looser bound.)
"""

from __future__ import annotations

import gc
import statistics
import time

import pytest

from .test_password_reset import ask, resets

pytestmark = pytest.mark.django_db

SAMPLES = 50


@pytest.fixture
def generous_limits(monkeypatch, reset_enabled):
    monkeypatch.setenv("Postroom__Security__PasswordResetsPerHourPerAddress", "10000")
    monkeypatch.setenv("Postroom__Security__PasswordResetsPerHourPerAccount", "100")


def timed(visitor, email: str, number: int) -> float:
    # The collector runs between samples, never inside one: a collection that happens to fall
    # into one kind of request would measure the heap left by the whole suite, not the view.
    gc.collect()
    gc.disable()
    try:
        began = time.thread_time()
        response = ask(visitor, email, address=f"198.51.100.{number % 200}")
        elapsed = time.thread_time() - began
    finally:
        gc.enable()
    assert response.status_code == 302  # the same answer either way
    return elapsed


@pytest.fixture
def frozen_heap():
    """What the suite left on the heap is moved out of the collector's sight for this test, so
    that each collection between samples costs what this test made, not the whole suite."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


def test_an_unknown_address_takes_as_long_as_an_account(
    visitor, editor, generous_limits, frozen_heap
):
    for number in range(5):  # warm up: templates, queries, connections
        timed(visitor, "editor@example.com", number)
        timed(visitor, "nobody@example.com", number)
    samples: dict[str, list[float]] = {"editor@example.com": [], "nobody@example.com": []}
    for number in range(SAMPLES):  # alternating which goes first cancels any drift
        for email in sorted(samples, reverse=bool(number % 2)):
            samples[email].append(timed(visitor, email, number))
    known, unknown = samples["editor@example.com"], samples["nobody@example.com"]
    assert len(resets()) == 5 + SAMPLES  # the account really got its emails
    difference = abs(statistics.median(known) - statistics.median(unknown))
    assert difference < 0.002, (
        f"median {statistics.median(known) * 1000:.2f} ms for an account, "
        f"{statistics.median(unknown) * 1000:.2f} ms for an unknown address"
    )
