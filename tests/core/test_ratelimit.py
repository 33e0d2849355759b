"""The one rate limiter: counts per key and window, atomically, with keys stored hashed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from postroom.core import ratelimit
from postroom.core.models import RateCounter
from processes import fresh_database_url, postroom_env

HOUR = timedelta(hours=1)
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_hits_are_counted_per_scope_and_key():
    assert [ratelimit.hit("a", "k", HOUR, T0).count for _ in range(3)] == [1, 2, 3]
    assert ratelimit.hit("a", "other", HOUR, T0).count == 1
    assert ratelimit.hit("b", "k", HOUR, T0).count == 1


@pytest.mark.django_db
def test_allow_says_no_past_the_limit_and_a_new_window_starts_afresh():
    assert [ratelimit.allow("s", "k", 2, HOUR, T0) for _ in range(3)] == [True, True, False]
    assert not ratelimit.allow("s", "k", 2, HOUR, T0 + timedelta(minutes=59))
    assert ratelimit.allow("s", "k", 2, HOUR, T0 + timedelta(minutes=60))


@pytest.mark.django_db
def test_the_window_starts_at_the_first_hit():
    ratelimit.hit("s", "k", HOUR, T0)
    count = ratelimit.hit("s", "k", HOUR, T0 + timedelta(minutes=10))
    assert count.window_start == T0
    assert count.expires_at == T0 + HOUR
    assert count.last_at == T0 + timedelta(minutes=10)


@pytest.mark.django_db
def test_keys_are_stored_hashed_never_in_clear():
    ratelimit.hit("login", ("ann@example.com", "203.0.113.9"), HOUR)
    [key] = RateCounter.objects.values_list("key", flat=True)
    assert "ann" not in key and "203.0.113" not in key and "@" not in key


@pytest.mark.django_db
def test_clearing_an_account_clears_it_from_every_address():
    for address in ("192.0.2.1", "192.0.2.2"):
        ratelimit.hit("login", ("ann@example.com", address), HOUR)
    ratelimit.hit("login", ("bob@example.com", "192.0.2.1"), HOUR)
    assert len(ratelimit.counts_under("login", "ann@example.com")) == 2
    assert ratelimit.clear("login", "ann@example.com") == 2
    assert ratelimit.peek("login", ("bob@example.com", "192.0.2.1")).count == 1


@pytest.mark.django_db
def test_expired_counters_are_forgotten():
    ratelimit.hit("s", "old", HOUR, datetime.now(UTC) - timedelta(hours=2))
    ratelimit.hit("s", "new", HOUR)
    assert ratelimit.forget_expired() == 1
    assert ratelimit.peek("s", "new").count == 1


# Many processes at once ----------------------------------------------------------------------

PROCESSES = 4
THREADS = 6
HITS = 20
LIMIT = 150  # well under the PROCESSES * THREADS * HITS = 480 hits sent

RACER = f"""
import json, os, sys, threading, time
import django
django.setup()
time.sleep(max(0.0, float(os.environ["RACE_AT"]) - time.time()))  # all processes at once
from datetime import timedelta
from django.db import connection
from postroom.core import ratelimit

barrier = threading.Barrier({THREADS})
allowed = []

def race():
    barrier.wait()
    window = timedelta(hours=1)
    mine = sum(ratelimit.allow("race", "one-key", {LIMIT}, window) for _ in range({HITS}))
    allowed.append(mine)
    connection.close()

threads = [threading.Thread(target=race) for _ in range({THREADS})]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(60)
print(json.dumps(sum(allowed)))
"""

SETUP = (
    "import django; django.setup();"
    "from postroom.startup import prepare_database; prepare_database()"
)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_processes_hitting_one_key_at_once_never_pass_the_limit(tmp_path):
    """Racing processes (each with racing threads) share one database, as web processes do."""
    with fresh_database_url() as url:
        env = postroom_env(tmp_path, url, DJANGO_SETTINGS_MODULE="postroom.settings")
        subprocess.run([sys.executable, "-c", SETUP], env=env, check=True, timeout=120)
        env["RACE_AT"] = str(time.time() + 8)  # after every racer has started Django
        racers = [
            subprocess.Popen([sys.executable, "-c", RACER], env=env, stdout=subprocess.PIPE)
            for _ in range(PROCESSES)
        ]
        allowed = [json.loads(racer.communicate(timeout=120)[0]) for racer in racers]
        final = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); from postroom.core.models import RateCounter;"
                "print(RateCounter.objects.get(scope='race').count)",
            ],
            env=env,
            check=True,
            timeout=60,
            capture_output=True,
            text=True,
        )
    assert sum(allowed) == LIMIT  # never one more, never one fewer
    assert int(final.stdout) == PROCESSES * THREADS * HITS  # no hit lost
