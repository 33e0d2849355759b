"""Reliability against real servers on loopback: every message is counted, none is lost.

The worker runs in this process (``Worker.run_once``); the servers are aiosmtpd
(``tests/smtpservers.py``) with faults switched on for the first rounds and off after, and
Postfix's ``smtp-sink`` with its own fault options (``-r`` soft 4xx, ``-f`` hard 5xx,
``-Q`` 421 and disconnect, ``-q`` silent disconnect), restarted without faults on the same
port. What the server received is counted by Message-ID (and recipient) against the outbox.

The multi-process cases (SIGKILL in the middle of a batch, four workers on PostgreSQL) are
in ``test_worker_processes.py``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from unittest import mock

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

import smtpservers
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import DeliveryAttempt, OutboxMessage, Status
from postroom.delivery.worker import Worker
from sites import use_smtp_server
from smtpservers import SmtpSink

pytestmark = pytest.mark.django_db

N = 30
FAULT_ROUNDS = 2  # rounds with the fault switched on; the rounds after run without it
MAX_ROUNDS = 8  # bound on the retry loop: faults off after round 2, so 3 would do
MAX_BATCHES_PER_ROUND = 10  # bound on "run the worker until nothing is due"
SENDER = "site@example.org"
TO = "someone@example.net"
BUSY = "busy@example.net"


def queue_messages(n: int, to: tuple[str, ...] = (TO,)) -> list[OutboxMessage]:
    return [
        enqueue(EmailMessage(f"Reliability {i}", f"Body {i}\n", to=list(to)), kind="form")
        for i in range(n)
    ]


def message_id(raw: bytes) -> str:
    return str(BytesHeaderParser().parsebytes(raw)["Message-ID"]).strip()


def make_due() -> int:
    """Pretend the backoff has passed: every queued message is due now."""
    return OutboxMessage.objects.filter(status=Status.QUEUED).update(next_attempt_at=timezone.now())


def drain(batch_size: int = 100) -> int:
    """Run the worker until nothing is due (bounded); returns how many were attempted."""
    worker = Worker(batch_size=batch_size)
    attempted = 0
    for _ in range(MAX_BATCHES_PER_ROUND):
        done = worker.run_once()
        if done == 0:
            return attempted
        attempted += done
    raise AssertionError(f"the worker still found due mail after {MAX_BATCHES_PER_ROUND} batches")


# -- aiosmtpd: faults on for the first rounds, then off --------------------------------------


@dataclass(frozen=True)
class Fault:
    name: str
    switch_on: dict  # handler attributes while the fault is on
    switch_off: dict
    step: str  # the DeliveryAttempt.step of a failed try
    reply: str | None  # text the failed try must show ("451 ..."); None: no reply came
    recipients: tuple[str, ...] = (TO,)
    batch_size: int = N  # how many messages one faulty round tries
    failed_per_round: int = N  # how many messages fail in one faulty round


FAULTS = [
    Fault(
        "4xx at MAIL",
        {"mail_reply": "451 4.3.0 Try again later"},
        {"mail_reply": None},
        step="mail",
        reply="451 4.3.0 Try again later",
    ),
    Fault(
        "4xx at RCPT",
        {"refuse": {TO: "450 4.2.1 Mailbox busy"}},
        {"refuse": {}},
        step="rcpt",
        reply="450 4.2.1 Mailbox busy",
    ),
    Fault(
        # One recipient accepted, the other deferred: only the deferred one is tried again.
        "4xx at RCPT for one of two",
        {"refuse": {BUSY: "452 4.2.2 Mailbox full"}},
        {"refuse": {}},
        step="rcpt",  # 2nd round: BUSY alone is pending, and refused
        reply="452 4.2.2 Mailbox full",
        recipients=(TO, BUSY),
    ),
    Fault(
        "connection dropped at DATA",
        {"drop_on": {"DATA"}},
        {"drop_on": set()},
        step="data",
        reply=None,
    ),
    Fault(
        # aiosmtpd waits 3 s before its DATA reply; the client gives up after 1 s. Every
        # stall costs a second, so a faulty round tries only 2 messages.
        "DATA stalls beyond the timeout",
        {"data_delay": 3.0},
        {"data_delay": 0.0},
        step="data",
        reply=None,
        batch_size=2,
        failed_per_round=2,
    ),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_transient_faults_lose_nothing_and_duplicate_nothing(isolated_site, smtp_server, fault):
    server = smtp_server()
    use_smtp_server(isolated_site, server.port, timeout=1)
    rows = queue_messages(N, to=fault.recipients)
    ids = {row.message_id for row in rows}
    assert len(ids) == N

    rounds = 0
    for rounds in range(1, MAX_ROUNDS + 1):  # noqa: B007 (used after the loop)
        faulty = rounds <= FAULT_ROUNDS
        for name, value in (fault.switch_on if faulty else fault.switch_off).items():
            setattr(server.handler, name, value)
        if faulty:
            attempted = Worker(batch_size=fault.batch_size).run_once()
            assert attempted == min(fault.batch_size, N)
            # A transient fault leaves the message queued, with its next try in the future.
            waiting = OutboxMessage.objects.filter(
                status=Status.QUEUED, next_attempt_at__gt=timezone.now()
            )
            assert waiting.count() == fault.failed_per_round
            assert not OutboxMessage.objects.filter(status=Status.FAILED).exists()
            assert not OutboxMessage.objects.filter(status=Status.SENDING).exists()
        else:
            drain()
        if not OutboxMessage.objects.exclude(status=Status.SENT).exists():
            break
        make_due()

    statuses = Counter(OutboxMessage.objects.values_list("status", flat=True))
    assert statuses == {Status.SENT: N}, f"after {rounds} rounds: {statuses}"
    assert rounds == FAULT_ROUNDS + 1  # one clean round delivers everything left

    # The server's side: every (message, recipient) exactly once, nothing unknown.
    received = Counter((message_id(m.raw), rcpt) for m in server.messages for rcpt in m.rcpt_tos)
    expected = {(mid, rcpt) for mid in ids for rcpt in fault.recipients}
    assert set(received) == expected
    duplicates = {key: count for key, count in received.items() if count > 1}
    assert duplicates == {}

    # The outbox's side: one DeliveryAttempt per try, the failed ones saying what happened.
    partial = fault.recipients == (TO, BUSY)
    for row in OutboxMessage.objects.all():
        attempts = list(row.attempts.all())
        assert len(attempts) == row.attempt_count
        assert attempts[-1].succeeded
        assert row.last_reply.startswith("250")
        assert row.recipient_status == dict.fromkeys(fault.recipients, "accepted")
        for attempt in attempts:
            if not attempt.succeeded:
                assert attempt.step == fault.step
                if fault.reply:
                    assert fault.reply in attempt.reply
        if partial:
            # 1st try: TO accepted, BUSY deferred; 2nd: BUSY alone, deferred; 3rd: BUSY sent.
            assert [a.succeeded for a in attempts] == [True, False, True]
    failed_tries = DeliveryAttempt.objects.filter(succeeded=False).count()
    if partial:
        assert failed_tries == N * (FAULT_ROUNDS - 1)
        assert [m.rcpt_tos for m in server.messages[:N]] == [(TO,)] * N
        assert [m.rcpt_tos for m in server.messages[N:]] == [(BUSY,)] * N
    else:
        assert failed_tries == fault.failed_per_round * FAULT_ROUNDS


# -- smtp-sink: faulty sink, then the same port without faults -------------------------------


class SinkOnPort(SmtpSink):
    """smtp-sink on a given port, so that a "restarted" server keeps its address."""

    def __init__(self, port: int, **options) -> None:
        super().__init__(**options)
        self.wanted_port = port

    def start(self) -> SinkOnPort:
        with mock.patch.object(smtpservers, "free_port", lambda: self.wanted_port):
            return super().start()


@contextmanager
def restarted_sink(port: int, timeout: float = 10.0) -> Iterator[SmtpSink]:
    """A clean smtp-sink on ``port`` (bounded retries while the old one lets go of it)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            sink = SinkOnPort(port).start()
            break
        except (RuntimeError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        yield sink
    finally:
        sink.stop()


def sink_message_ids(sink: SmtpSink) -> Counter:
    return Counter(message_id(m.content) for m in sink.messages())


SINK_TRANSIENT = [
    # (smtp-sink options, step of the failed try, reply text the failed try must show)
    (["-r", "MAIL"], "mail", "450 4.3.0 Error: command failed"),
    (["-r", "RCPT"], "rcpt", "450 4.3.0 Error: command failed"),
    (["-r", "DATA"], "data", "450 4.3.0 Error: command failed"),
    (["-r", "."], "data", "450 4.3.0 Error: command failed"),
    (["-b", "451 4.7.1 Greylisted, come back later", "-r", "RCPT"], "rcpt", "451 4.7.1 Greylisted"),
    (["-Q", "MAIL"], "mail", "421 4.0.0 Server closing connection"),
    (["-Q", "RCPT"], "rcpt", "421 4.0.0 Server closing connection"),
    (["-Q", "."], "data", "421 4.0.0 Server closing connection"),
    (["-q", "MAIL"], "mail", "closed the connection"),
    (["-q", "RCPT"], "rcpt", "closed the connection"),
    (["-q", "DATA"], "data", "closed the connection"),
    (["-q", "."], "data", "closed the connection"),
]
SINK_N = 10


@pytest.mark.smtpsink
@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("options", "step", "reply"), SINK_TRANSIENT, ids=[" ".join(o[0]) for o in SINK_TRANSIENT]
)
def test_smtp_sink_transient_faults_are_retried_then_delivered(
    isolated_site, smtp_sink, options, step, reply
):
    faulty = smtp_sink(options=options)
    port = faulty.port
    use_smtp_server(isolated_site, port, timeout=5)
    rows = queue_messages(SINK_N)
    ids = {row.message_id for row in rows}

    assert Worker().run_once() == SINK_N
    for row in OutboxMessage.objects.all():
        assert row.status == Status.QUEUED, row.last_reply
        assert row.next_attempt_at > timezone.now()
        assert reply in row.last_reply
        (attempt,) = row.attempts.all()
        assert (attempt.succeeded, attempt.step) == (False, step)
        assert reply in attempt.reply
    # With a fault at "." smtp-sink has already written the message to disk when it refuses
    # (or hangs up): those copies were never accepted, so the client must send them again.
    faulty_copies = sink_message_ids(faulty)
    if options[-1] == ".":
        assert set(faulty_copies) == ids
    else:
        assert faulty_copies == Counter()
    faulty.stop()

    with restarted_sink(port) as sink:
        assert make_due() == SINK_N
        assert drain() == SINK_N
        assert Counter(OutboxMessage.objects.values_list("status", flat=True)) == {
            Status.SENT: SINK_N
        }
        sink.wait_for(messages=SINK_N, timeout=10)
        delivered = sink_message_ids(sink)
        assert delivered == Counter(dict.fromkeys(ids, 1)), "lost or duplicated"
        assert sink.counters()[2] == SINK_N
    for row in OutboxMessage.objects.all():
        assert row.attempt_count == 2
        assert [a.succeeded for a in row.attempts.all()] == [False, True]


SINK_PERMANENT = [
    (["-f", "MAIL"], "mail"),
    (["-f", "RCPT"], "rcpt"),
    (["-f", "DATA"], "data"),
    (["-f", "."], "data"),
]
HARD_REPLY = "554 5.7.1 Rejected by local policy"


@pytest.mark.smtpsink
@pytest.mark.timeout(60)
@pytest.mark.parametrize(("options", "step"), SINK_PERMANENT, ids=[o[1] for o in SINK_PERMANENT])
def test_smtp_sink_permanent_refusals_fail_with_the_servers_text(
    isolated_site, smtp_sink, options, step
):
    sink = smtp_sink(options=["-B", HARD_REPLY, *options])
    use_smtp_server(isolated_site, sink.port, timeout=5)
    queue_messages(SINK_N)
    assert drain() == SINK_N
    make_due()
    assert drain() == 0  # failed for good: not tried again
    for row in OutboxMessage.objects.all():
        assert row.status == Status.FAILED
        assert row.failed_at is not None
        assert HARD_REPLY in row.last_reply
        (attempt,) = row.attempts.all()
        assert (attempt.succeeded, attempt.step) == (False, step)
        assert HARD_REPLY in attempt.reply
        assert row.attempt_count == 1
