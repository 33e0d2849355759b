"""Workers with several connections, as real processes, against aiosmtpd in this process.

The server's own clock says which message was in flight when, and on which connection: that
is what the deployment-wide limits and the lease rule are about.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path

import psycopg
import pytest

from processes import fresh_database_url, postroom_env, start
from smtpservers import RecordingHandler

pytestmark = pytest.mark.slow  # every test here starts worker processes

SLOW = "slow@example.net"


@dataclass
class TimedHandler(RecordingHandler):
    """Records each accepted message: its connection, its Message-ID, when its transaction
    began (MAIL) and ended (the final reply).

    ``busy_replies``: how many MAIL commands get "421 Too many connections" first.
    ``stall``: seconds the server takes over messages to SLOW, half at RCPT, half after DATA.
    """

    busy_replies: int = 0
    stall: float = 0.0
    spans: list[tuple[int, str, float, float]] = field(default_factory=list)
    _began: dict[int, float] = field(default_factory=dict)

    async def handle_MAIL(self, server, session, envelope, address, options):  # noqa: ANN001
        if self.busy_replies > 0:
            self.busy_replies -= 1
            return "421 4.7.0 Too many connections, try again later"
        self._began[id(session)] = time.time()
        return await super().handle_MAIL(server, session, envelope, address, options)

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: ANN001
        if address == SLOW and self.stall:
            await asyncio.sleep(self.stall / 2)
        return await super().handle_RCPT(server, session, envelope, address, options)

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        if SLOW in envelope.rcpt_tos and self.stall:
            await asyncio.sleep(self.stall / 2)
        reply = await super().handle_DATA(server, session, envelope)
        if reply.startswith("250"):
            mid = str(BytesHeaderParser().parsebytes(envelope.original_content)["Message-ID"])
            self.spans.append((id(session), mid.strip(), self._began[id(session)], time.time()))
        return reply


def most_at_once(spans: list[tuple[int, str, float, float]]) -> int:
    events = sorted([(s[2], 1) for s in spans] + [(s[3], -1) for s in spans])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


# -- a site, its outbox and its workers ------------------------------------------------------

ENQUEUE = """
from django.core.mail import EmailMessage
from django.db import transaction
from postroom.delivery.enqueue import enqueue
from postroom.startup import prepare_database
prepare_database()
with transaction.atomic():
    for i, to in enumerate({recipients!r}):
        enqueue(EmailMessage(f"Message {{i}}", "Hello\\n" * 20, to=[to]), kind="form")
"""


def configure(tmp_path: Path, port: int, database_url: str | None, **delivery: object) -> dict:
    smtp = {"From": "site@example.org", "Host": "127.0.0.1", "Port": port}
    smtp["SecureSocketOptions"] = "None"
    settings = {
        "Umbraco": {"CMS": {"Global": {"Smtp": smtp}}},
        "Postroom": {"Smtp": {"TimeoutSeconds": 2}, "Delivery": delivery},
    }
    env = postroom_env(tmp_path, database_url, POSTROOM_LOG_LEVEL="WARNING")
    (Path(env["POSTROOM_SITE"]) / "appsettings.json").write_text(json.dumps(settings))
    return env


def enqueue(env: dict, recipients: list[str]) -> None:
    script = ENQUEUE.format(recipients=recipients)
    done = subprocess.run(
        [sys.executable, "-m", "postroom.cli", "shell", "-c", script],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def query(env: dict, sql: str) -> list[tuple]:
    if env.get("DATABASE_URL"):
        with psycopg.connect(env["DATABASE_URL"], autocommit=True, connect_timeout=5) as db:
            return db.execute(sql).fetchall()
    db = sqlite3.connect(Path(env["POSTROOM_DATA"]) / "postroom.sqlite3", timeout=10)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def statuses(env: dict) -> dict[str, int]:
    rows = query(env, "SELECT status, count(*) FROM delivery_outboxmessage GROUP BY status")
    return dict(rows)


def wait_until(condition: Callable[[], bool], timeout: float, *processes) -> None:  # noqa: ANN002
    deadline = time.monotonic() + timeout
    while not condition():
        for process in processes:
            assert process.poll() is None, f"a worker exited early with {process.returncode}"
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s:\n{LAST_LOGS[0]()}")
        time.sleep(0.05)


LAST_LOGS: list[Callable[[], str]] = [lambda: ""]


@contextlib.contextmanager
def workers(env: dict, tmp_path: Path, count: int, *args: str):  # noqa: ANN201
    """``count`` ``postroom worker`` processes, each with ``args``; killed at the end."""
    LAST_LOGS[0] = lambda: logs(tmp_path)[-4000:]
    processes = [start(["worker", *args], env, tmp_path / f"worker-{n}.log") for n in range(count)]
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)


def logs(tmp_path: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("worker-*.log")))


def started(env: dict, count: int) -> Callable[[], bool]:
    return lambda: query(env, "SELECT count(*) FROM delivery_workerheartbeat")[0][0] >= count


# -- the tests -------------------------------------------------------------------------------


@pytest.mark.timeout(90)
def test_no_message_is_in_flight_from_two_workers_at_once(tmp_path, smtp_server):
    """Two workers, a 5 s lease, and a server that takes 3 s over every other message.

    A connection's batch then takes far longer than its lease: only renewals on time keep
    the other worker from taking the rest of the batch and sending it side by side.
    """
    handler = TimedHandler(pipelining=True, stall=3.0)
    server = smtp_server(handler=handler)
    with fresh_database_url() as database_url:
        env = configure(tmp_path, server.port, database_url, Connections=2)
        env["POSTROOM_LEASE_SECONDS"] = "5"
        enqueue(env, [SLOW if n % 2 else "someone@example.net" for n in range(12)])
        with workers(env, tmp_path, 2) as processes:
            wait_until(lambda: statuses(env) == {"sent": 12}, 60, *processes)
            time.sleep(0.5)
    spans: dict[str, list[tuple[float, float]]] = {}
    for _, mid, began, ended in handler.spans:
        spans.setdefault(mid, []).append((began, ended))
    assert len(spans) == 12
    for mid, times in spans.items():
        times.sort()
        for (_, ended), (began, _) in zip(times, times[1:], strict=False):
            assert began >= ended, f"{mid} was in flight twice at once: {times}"
    assert "renewed only" not in logs(tmp_path)
    assert (
        max(ended for _, _, _, ended in handler.spans)
        - min(began for _, _, began, _ in handler.spans)
        > 5
    ), "no batch outlasted the lease: the test proves nothing"


@pytest.mark.timeout(60)
def test_a_200_message_queue_is_spread_across_every_connection(tmp_path, smtp_server):
    handler = TimedHandler(pipelining=True, data_delay=0.01)
    server = smtp_server(handler=handler)
    with fresh_database_url() as database_url:
        env = configure(tmp_path, server.port, database_url)
        enqueue(env, ["someone@example.net"] * 200)
        with workers(env, tmp_path, 1, "--burst", "--concurrency", "10") as [worker]:
            assert worker.wait(40) == 0, logs(tmp_path)
        assert statuses(env) == {"sent": 200}
    per_connection: dict[int, int] = {}
    for session, *_ in handler.spans:
        per_connection[session] = per_connection.get(session, 0) + 1
    # Ten connections, each kept open between its batches; batches of 100 would leave most idle.
    assert len(per_connection) == 10, per_connection
    assert min(per_connection.values()) >= 10, per_connection
    assert most_at_once(handler.spans) >= 5


@pytest.mark.timeout(60)
def test_the_rate_limit_holds_for_two_workers_together(tmp_path, smtp_server):
    handler = TimedHandler(pipelining=True)
    server = smtp_server(handler=handler)
    with fresh_database_url() as database_url:
        env = configure(tmp_path, server.port, database_url, MessagesPerSecond=20, Connections=2)
        enqueue(env, [])
        with workers(env, tmp_path, 2) as processes:
            wait_until(started(env, 2), 30, *processes)
            enqueue(env, ["someone@example.net"] * 60)
            wait_until(lambda: statuses(env) == {"sent": 60}, 45, *processes)
    ends = sorted(span[3] for span in handler.spans)
    # 20 a second for both together: the 60th about 59/20 s after the first; four
    # connections each pacing itself at 20 a second would take a quarter of that.
    seconds = ends[-1] - ends[0]
    assert 59 / 20 * 0.85 <= seconds <= 59 / 20 * 2.0, seconds
    for first, at in enumerate(ends):
        within_a_second = [t for t in ends[first:] if t - at < 1.0]
        assert len(within_a_second) <= 20 + 2, "more than the rate in one second"


@pytest.mark.timeout(60)
def test_max_connections_caps_every_worker_together(tmp_path, smtp_server):
    handler = TimedHandler(pipelining=True, data_delay=0.03)
    server = smtp_server(handler=handler)
    with fresh_database_url() as database_url:
        env = configure(tmp_path, server.port, database_url, MaxConnections=2, Connections=3)
        enqueue(env, [])
        with workers(env, tmp_path, 2) as processes:
            wait_until(started(env, 2), 30, *processes)
            enqueue(env, ["someone@example.net"] * 60)
            wait_until(lambda: statuses(env) == {"sent": 60}, 45, *processes)
    assert most_at_once(handler.spans) == 2  # six connections would send side by side


@pytest.mark.timeout(60)
def test_too_many_connections_lowers_concurrency_instead_of_failing(tmp_path, smtp_server):
    # Four connections, halved at each refusal: 2, then 1. A refusal at one connection is an
    # ordinary failure (retried later), as it would be without concurrency to lower.
    handler = TimedHandler(pipelining=True, data_delay=0.01, busy_replies=2)
    server = smtp_server(handler=handler)
    with fresh_database_url() as database_url:
        env = configure(tmp_path, server.port, database_url)
        enqueue(env, ["someone@example.net"] * 40)
        with workers(env, tmp_path, 1, "--burst", "--concurrency", "4") as [worker]:
            assert worker.wait(40) == 0, logs(tmp_path)
        assert statuses(env) == {"sent": 40}
        attempts = query(env, "SELECT DISTINCT attempt_count FROM delivery_outboxmessage")
        assert attempts == [(1,)]  # a refused try is not one of the message's attempts
        failed = query(env, "SELECT count(*) FROM delivery_deliveryattempt WHERE NOT succeeded")
        assert failed == [(0,)]
    assert "connections instead of 4" in logs(tmp_path)


@pytest.mark.timeout(60)
def test_a_worker_opens_its_first_connection_as_it_starts_and_sends_over_it(tmp_path, smtp_server):
    """Its greeting tells the worker how far the server is before any mail is due."""
    handler = TimedHandler(pipelining=True)
    server = smtp_server(handler=handler)
    with fresh_database_url() as database_url:
        env = configure(tmp_path, server.port, database_url)
        enqueue(env, [])
        with workers(env, tmp_path, 1) as processes:
            wait_until(lambda: server.connections == 1, 30, *processes)
            assert handler.spans == []  # nothing was due: no transaction
            enqueue(env, ["someone@example.net"])
            wait_until(lambda: statuses(env) == {"sent": 1}, 30, *processes)
    assert server.connections == 1  # the message went over the connection opened at start
