"""Workers as real processes: killed with SIGKILL in the middle of a batch, and four at once.

Each test starts ``postroom worker`` the way an operator does (``python -m postroom.cli``),
fills the outbox through ``postroom shell -c`` in the same environment, and reads the
outcome straight from the database file or the PostgreSQL database. What the mail server
received is counted by Message-ID.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from processes import fresh_database_url, postroom_env, start
from smtpservers import RecordingHandler

LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
pytestmark = pytest.mark.slow  # every test here starts and kills worker processes


# -- helpers --------------------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A new empty PostgreSQL database, whatever DATABASE_URL says (SQLite runs too).

    The server is the one in DATABASE_URL when that is PostgreSQL, else the local one. If
    none answers the test is skipped, which CI counts as a failure (nothing may skip there).
    """
    admin_url = os.environ.get("DATABASE_URL") or LOCAL_POSTGRES
    if not admin_url.startswith(("postgres://", "postgresql://")):
        admin_url = LOCAL_POSTGRES
    name = f"postroom_workers_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.skip(f"needs PostgreSQL at {admin_url}: {error}")
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Outbox:
    """Reads the outbox table of a worker's database (SQLite file or PostgreSQL URL)."""

    def __init__(self, database_url: str | None, data_dir: Path) -> None:
        self.database_url = database_url
        self.sqlite_path = data_dir / "postroom.sqlite3"

    def query(self, sql: str) -> list[tuple]:
        if self.database_url:
            with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as db:
                return db.execute(sql).fetchall()
        db = sqlite3.connect(self.sqlite_path, timeout=10)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def rows(self) -> dict[str, tuple[str, int, int]]:
        """Message-ID -> (status, attempt_count, lost_leases)."""
        found = self.query(
            "SELECT message_id, status, attempt_count, lost_leases FROM delivery_outboxmessage"
        )
        return {mid: (status, attempts, lost) for mid, status, attempts, lost in found}

    def statuses(self) -> Counter:
        return Counter(status for status, _, _ in self.rows().values())

    def attempts(self) -> int:
        return self.query("SELECT count(*) FROM delivery_deliveryattempt")[0][0]


def configure_site(site: Path, port: int, connections: int | None = 1) -> None:
    """One connection per worker unless ``connections`` says otherwise: the kill tests count
    duplicates, and the rule allows one per connection that was sending."""
    smtp = {
        "From": "site@example.org",
        "Host": "127.0.0.1",
        "Port": port,
        "SecureSocketOptions": "None",
    }
    settings = {
        "Umbraco": {"CMS": {"Global": {"Smtp": smtp}}},
        # A lease must be more than twice the SMTP timeout: the short leases here need 1 s.
        "Postroom": {"Smtp": {"TimeoutSeconds": 1}},
    }
    if connections is not None:
        settings["Postroom"]["Delivery"] = {"Connections": connections}
    (site / "appsettings.json").write_text(json.dumps(settings))


ENQUEUE = """
from django.core.mail import EmailMessage
from django.db import transaction
from postroom.delivery.enqueue import enqueue
from postroom.startup import prepare_database
prepare_database()
with transaction.atomic():
    for i in range({n}):
        enqueue(EmailMessage(f"Message {{i}}", "Hello\\n" * 20, to=["someone@example.net"]),
                kind="form")
"""


def enqueue_in_subprocess(env: dict[str, str], n: int, timeout: float = 60.0) -> None:
    """Migrate the database and queue ``n`` messages, through ``postroom shell -c``."""
    done = subprocess.run(
        [sys.executable, "-m", "postroom.cli", "shell", "-c", ENQUEUE.format(n=n)],
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def wait_until(
    condition: Callable[[], bool], timeout: float, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker exited early with {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout} s")
        time.sleep(0.01)


def message_id(raw: bytes) -> str:
    return str(BytesHeaderParser().parsebytes(raw)["Message-ID"]).strip()


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)


def log_of(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"


# -- SIGKILL in the middle of a batch ---------------------------------------------------------

KILL_N = 300
KILL_AFTER = 120  # past the first batch of 100 and a lease renewal, well before the end
LEASE_SECONDS = 2.5


@dataclass
class KillingHandler(RecordingHandler):
    """Kills ``victim`` once it has taken message number ``kill_after``, before replying 250:
    the server has the message, the worker never hears that it was accepted."""

    kill_after: int = 0
    victim: subprocess.Popen | None = None

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        if self.victim is not None and len(self.messages) == self.kill_after:
            self.victim.send_signal(signal.SIGKILL)
            self.victim.wait(5)  # blocks the server a moment: the worker is gone before the 250
        return reply


@pytest.mark.timeout(90)
@pytest.mark.parametrize("kill", ["between-replies", "after-data-accepted"])
def test_a_worker_killed_mid_batch_loses_nothing_and_resends_at_most_one(
    tmp_path, smtp_server, kill
):
    """``kill -9`` a worker while it sends; a second worker finishes after the lease runs out.

    The rule: every message reaches the server at least once, and at most ONE message reaches
    it twice. That one can only be the message whose DATA the server had accepted right before
    the kill but whose outcome the worker had not yet committed: it was received, yet its
    outbox row was still ``sending`` when the worker died, so after the lease ran out it was
    claimed and sent again. The worker commits each message's outcome before the next
    message's content goes out, so no other message can be in that state.

    ``between-replies``: the test kills the worker once the server has 120 messages, at
    whatever point the worker is (usually just after it committed the 120th). The rule allows
    no duplicate or one. ``after-data-accepted``: the server kills the worker after it stored
    the 120th message and before its 250 goes out, so exactly that message arrives twice.

    On SQLite, unless the suite runs on PostgreSQL (DATABASE_URL), then on a fresh database.
    """
    # About 40 messages a second: a batch of 100 takes 2-3 s, longer than the lease.
    server = smtp_server(handler=KillingHandler(data_delay=0.02))
    configure_site(tmp_path / "site", server.port)
    with fresh_database_url() as database_url:
        env = postroom_env(
            tmp_path,
            database_url,
            POSTROOM_LEASE_SECONDS=str(LEASE_SECONDS),
            POSTROOM_LOG_LEVEL="WARNING",
        )
        enqueue_in_subprocess(env, KILL_N)
        outbox = Outbox(database_url, tmp_path / "data")
        ids = set(outbox.rows())
        assert len(ids) == KILL_N

        first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"
        worker = start(["worker"], env, first_log)
        try:
            if kill == "after-data-accepted":
                server.handler.kill_after, server.handler.victim = KILL_AFTER, worker
                wait_until(lambda: worker.poll() is not None, timeout=40)
            else:
                wait_until(lambda: len(server.messages) >= KILL_AFTER, timeout=40, process=worker)
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
        finally:
            stop(worker)
        time.sleep(0.3)  # let the server notice the hang-up (a DATA in flight is dropped)

        received_before = Counter(message_id(m.raw) for m in server.messages)
        at_kill = outbox.rows()  # nothing writes any more: this is the state at the kill
        assert KILL_AFTER <= len(received_before) < KILL_N
        assert set(received_before) <= ids
        sending = {mid for mid, (status, _, _) in at_kill.items() if status == "sending"}
        assert sending, "the kill came between two batches; it should hit one in the middle"
        for mid, (status, _, _) in at_kill.items():
            if status == "sent":
                assert mid in received_before, f"{mid} is marked sent but the server lacks it"
        # Received but not recorded: the one message the rule allows to arrive twice.
        unrecorded = set(received_before) & sending
        assert len(unrecorded) <= 1, f"received, yet still 'sending': {sorted(unrecorded)}"
        if kill == "after-data-accepted":
            assert len(received_before) == KILL_AFTER
            assert len(unrecorded) == 1

        # A lease is renewed to now + lease at most every lease/2: all have run out by now+lease.
        time.sleep(LEASE_SECONDS + 0.5)
        second = start(["worker", "--burst"], env, second_log)
        try:
            assert second.wait(60) == 0, log_of(second_log)
        finally:
            stop(second)

        received = Counter(message_id(m.raw) for m in server.messages)
        assert set(received) == ids, f"lost: {sorted(ids - set(received))[:5]}"
        duplicates = {mid: count for mid, count in received.items() if count > 1}
        assert len(duplicates) <= 1, duplicates
        assert set(duplicates) <= unrecorded, (duplicates, unrecorded)
        assert all(count == 2 for count in duplicates.values())
        if kill == "after-data-accepted":
            assert set(duplicates) == unrecorded
        assert sum(received.values()) == KILL_N + len(duplicates)

        print(
            f"killed after {len(received_before)} received; {len(sending)} were 'sending'; "
            f"received but unrecorded: {len(unrecorded)}; sent twice: {len(duplicates)}"
        )
        final = outbox.rows()
        assert Counter(status for status, _, _ in final.values()) == {"sent": KILL_N}
        for mid in sending:  # claimed again once: at most one more try and one lost lease
            _, attempts, lost = final[mid]
            assert attempts <= 2 and lost <= 1, (mid, final[mid])
        assert any(final[mid][2] == 1 for mid in sending)  # the one in flight is counted
        for mid in ids - sending:
            assert final[mid][1:] == (1, 0)
        # One attempt row per message: the killed worker recorded nothing for its 'sending' ones.
        assert outbox.attempts() == KILL_N


# -- four workers on PostgreSQL ---------------------------------------------------------------

MANY_N = 5000
WORKERS = 4


@pytest.mark.smtpsink
@pytest.mark.timeout(110)
def test_four_workers_on_postgresql_deliver_each_message_exactly_once(tmp_path, smtp_sink):
    sink = smtp_sink()
    configure_site(tmp_path / "site", sink.port, connections=3)  # several per worker
    with throwaway_postgres() as database_url:
        env = postroom_env(tmp_path, database_url, POSTROOM_LOG_LEVEL="DEBUG")
        enqueue_in_subprocess(env, MANY_N)  # also migrates, before the workers start
        outbox = Outbox(database_url, tmp_path / "data")
        ids = set(outbox.rows())
        assert len(ids) == MANY_N

        logs = [tmp_path / f"worker-{n}.log" for n in range(WORKERS)]
        workers = [start(["worker", "--burst"], env, log) for log in logs]
        started = time.monotonic()
        try:
            for process, log in zip(workers, logs, strict=True):
                remaining = max(60 - (time.monotonic() - started), 1)
                assert process.wait(remaining) == 0, log_of(log)
        finally:
            for process in workers:
                stop(process)
        elapsed = time.monotonic() - started

        sink.wait_for(messages=MANY_N, timeout=20)
        received = Counter(message_id(m.content) for m in sink.messages())
        duplicates = {mid: count for mid, count in received.items() if count > 1}
        assert duplicates == {}
        assert set(received) == ids, f"lost: {sorted(ids - set(received))[:5]}"
        assert sink.counters()[2] == MANY_N

        assert outbox.statuses() == {"sent": MANY_N}
        assert {row[1:] for row in outbox.rows().values()} == {(1, 0)}  # one try, no lost lease
        assert outbox.attempts() == MANY_N

        # Each worker logs "Sent <Message-ID>": the work was shared and never overlapped.
        sent_by = [
            {
                line.split("Sent ", 1)[1].split(" via ")[0]
                for line in log.read_text().splitlines()
                if " Sent <" in line
            }
            for log in logs
        ]
        assert sum(len(s) for s in sent_by) == MANY_N
        assert set().union(*sent_by) == ids
        busy = [len(s) for s in sent_by]
        assert sum(1 for count in busy if count > 0) >= 2, busy
        print(f"{WORKERS} workers: {MANY_N} messages in {elapsed:.1f} s; per worker {busy}")


# -- repeated crashes -------------------------------------------------------------------------

CRASH_N = 150
CRASHES = 3


@pytest.mark.timeout(90)
def test_repeated_crashes_set_aside_only_the_message_in_flight(tmp_path, smtp_server):
    """Three ``kill -9``, each while ONE message is in flight: nothing else may be lost.

    A worker sends its batch one message at a time, so when it dies only the message in
    flight can be to blame (a poison message that kills workers). The rest of its batch was
    never tried: it must be delivered, not "set aside" after MAX_LOST_LEASES crashes.
    """
    server = smtp_server(data_delay=0.05)
    configure_site(tmp_path / "site", server.port)
    with fresh_database_url() as database_url:
        env = postroom_env(
            tmp_path, database_url, POSTROOM_LEASE_SECONDS="2.5", POSTROOM_LOG_LEVEL="WARNING"
        )
        enqueue_in_subprocess(env, CRASH_N)
        outbox = Outbox(database_url, tmp_path / "data")
        ids = set(outbox.rows())
        for crash in range(CRASHES):
            target = len(server.messages) + 5
            worker = start(["worker"], env, tmp_path / f"worker-{crash}.log")
            try:
                wait_until(lambda: len(server.messages) >= target, timeout=30, process=worker)  # noqa: B023
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
            finally:
                stop(worker)
            time.sleep(3.0)  # the lease (2.5 s) runs out
        last = start(["worker", "--burst"], env, tmp_path / "worker-last.log")
        try:
            assert last.wait(60) == 0
        finally:
            stop(last)

        received = Counter(message_id(m.raw) for m in server.messages)
        statuses = outbox.statuses()
        never_sent = ids - set(received)
        assert statuses == {"sent": CRASH_N}, (
            f"{statuses}; {len(never_sent)} never reached a server"
        )
        assert sum(count - 1 for count in received.values()) <= CRASHES
