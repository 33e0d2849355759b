"""A form field's pattern cannot be turned against the service.

The form's author wrote a pattern that backtracks catastrophically, ``([a-z]+)+``; visitors
send the answer that makes a backtracking engine run for ever. Postroom runs patterns in
linear time, so the submissions are refused at once, /healthz stays fast, and the process
still stops promptly when asked.
"""

from __future__ import annotations

import http.client
import os
import random
import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from .conftest import Served, latency_limit, p99

PARALLEL = 16
ROUNDS = 5  # each attacker sends this many, one after the other
PAUSE = 1.0  # at most this long before each, at random: a steady attack, not one burst
EVIL_PATTERN = "([a-z]+)+"
EVIL_ANSWER = "a" * 9_999 + "!"  # a backtracking engine needs 2**9999 steps to refuse it
SETUP = f"""
from postroom.accounts.models import User
from postroom.forms import builder
from postroom.forms.models import Field
owner = User.objects.create_superuser("owner@example.com", "a-long-password-1")
form = builder.create_form("Evil", owner, slug="evil")
form.min_fill_seconds = 0
form.rate_limit = 0  # every submission reaches the pattern
form.save()
Field.objects.create(form=form, kind="long_text", label="Word", alias="word",
                     required=True, position=9, pattern={EVIL_PATTERN!r})
"""


def submit(served: Served, token: str) -> tuple[int, str]:
    body = urlencode(
        {
            "name": "Mallory",
            "email": "mallory@example.net",
            "message": "hi",
            "word": EVIL_ANSWER,
            "postroom_ts": token,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (127.0.0.1 only)
        f"{served.url}/f/evil/", data=body, headers={"Accept": "application/json"}
    )
    try:
        try:
            with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
    except (OSError, http.client.HTTPException) as error:  # no whole answer: the server stopped
        return 0, str(error)


def attack(
    served: Served, pause: float = PAUSE
) -> tuple[list[threading.Thread], list[tuple[int, str]]]:
    """``PARALLEL`` attackers each send ``ROUNDS`` evil submissions, each with its own page
    token; the list fills with (status, body) as they are answered."""
    tokens = [served.get("/f/evil/token/")[1].decode() for _ in range(PARALLEL * ROUNDS)]
    results: list[tuple[int, str]] = []
    start = threading.Barrier(PARALLEL)

    def attacker(mine: list[str]) -> None:
        start.wait(10)
        for token in mine:
            time.sleep(random.uniform(0, pause))  # noqa: S311 (not for security)
            results.append(submit(served, token))

    threads = [
        threading.Thread(target=attacker, args=(tokens[n::PARALLEL],), daemon=True)
        for n in range(PARALLEL)
    ]
    for thread in threads:
        thread.start()
    return threads, results


def exited(pid: int) -> bool:
    """Whether the child ``pid`` has exited (a zombie until the fixture reaps it)."""
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_backtracking_answers_cannot_slow_the_service(serve):
    served = serve()
    served.shell(SETUP)

    assert submit(served, served.get("/f/evil/token/")[1].decode())[0] == 400  # warmed up
    limit = latency_limit(served)

    threads, results = attack(served)
    latencies: list[float] = []  # while the attackers are at it
    deadline = time.monotonic() + 60
    while any(thread.is_alive() for thread in threads):
        assert time.monotonic() < deadline, "the submissions took longer than 60 s"
        latencies += served.healthz_latencies(1, timeout=2.0)

    assert len(results) == PARALLEL * ROUNDS
    for status, text in results:
        assert status == 400, text[:500]
        assert "This answer is not in the expected format." in text
    assert len(latencies) >= 50
    assert p99(latencies) < limit, f"/healthz p99 {p99(latencies) * 1000:.0f} ms"
    assert p99(served.healthz_latencies(30)) < limit  # and afterwards


@pytest.mark.timeout(120)
def test_the_process_stops_promptly_in_the_middle_of_an_attack(serve):
    served = serve()
    served.shell(SETUP)

    threads, _ = attack(served, pause=0)
    time.sleep(0.3)  # the submissions are being checked
    started = time.monotonic()
    os.kill(served.pid, signal.SIGTERM)
    while not exited(served.pid):
        assert time.monotonic() - started < 15, "serve did not stop within 15 s of SIGTERM"
        time.sleep(0.05)
    for thread in threads:
        thread.join(20)
