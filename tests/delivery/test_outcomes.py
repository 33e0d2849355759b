"""Outcomes written the way a running worker writes them: outside any caller's transaction.

On PostgreSQL a worker sends each outcome without waiting and confirms it only before the
next message's content goes out; on SQLite it commits each one at once. Both must store the
same thing, never let two accepted messages go unrecorded, and lose nothing when the database
refuses an outcome.
"""

import sqlite3
import threading
import time
import zoneinfo

import pytest
from django.db import DatabaseError, connections, transaction
from django.db.models import F
from django.utils import timezone

from postroom.delivery.models import DeliveryAttempt, OutboxMessage, Status
from postroom.delivery.outcomes import OutcomeNotSaved, OutcomeWriter, _prepared, _roll_back
from postroom.delivery.transports.smtp import SmtpTransport
from postroom.delivery.worker import Worker
from sites import queue_mail, use_smtp_server

pytestmark = pytest.mark.django_db(transaction=True)


def spy_on_content_gate(monkeypatch, check):
    """Run ``check(message)`` each time the worker lets a message's content go out."""
    send = SmtpTransport.send

    def send_and_check(self, message, before_content=None, then=None):
        def gate():
            if before_content is not None:
                before_content()
            check(message)

        return send(self, message, gate, then)

    monkeypatch.setattr(SmtpTransport, "send", send_and_check)


def test_outcomes_are_stored_whole(isolated_site, smtp_server):
    server = smtp_server(refuse={"gone@example.net": "550 5.1.1 No such user"})
    use_smtp_server(isolated_site, server.port)
    rows = queue_mail(3, to=("someone@example.net", "gone@example.net"))
    assert Worker().run_once() == 3
    for row in rows:
        row.refresh_from_db()
        assert row.status == Status.SENT
        assert row.claimed_by == "" and row.lease_expires_at is None
        assert row.sent_at is not None and row.failed_at is None
        assert row.last_reply.startswith("250 2.0.0 Ok: queued as")
        assert row.recipient_status == {
            "someone@example.net": "accepted",
            "gone@example.net": "550 5.1.1 No such user",
        }
        attempt = row.attempts.get()
        assert attempt.succeeded and attempt.step == ""
        assert attempt.reply == row.last_reply
        assert attempt.transport == f"127.0.0.1:{server.port} without TLS"
        assert attempt.started_at <= row.sent_at


def test_a_failure_is_stored_with_its_step(isolated_site, smtp_server):
    server = smtp_server(data_reply="554 5.7.1 Spam detected")
    use_smtp_server(isolated_site, server.port)
    [row] = queue_mail(1)
    Worker().run_once()
    row.refresh_from_db()
    assert row.status == Status.FAILED and row.failed_at is not None
    attempt = row.attempts.get()
    assert (attempt.succeeded, attempt.step) == (False, "data")
    assert "554 5.7.1 Spam detected" in attempt.reply


def test_each_outcome_is_stored_before_the_next_message_can_be_accepted(
    isolated_site, smtp_server, monkeypatch
):
    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    rows = queue_mail(6)
    unrecorded_at_gate = []

    def check(message):
        unrecorded_at_gate.append(OutboxMessage.objects.filter(status=Status.SENDING).count())

    spy_on_content_gate(monkeypatch, check)
    assert Worker().run_once() == 6
    # At each gate only the message about to go out is unrecorded: the ones before it are in.
    assert unrecorded_at_gate == [6, 5, 4, 3, 2, 1]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.SENT}
    assert len(server.messages) == len(rows)


def test_a_refused_outcome_stops_the_batch_and_loses_nothing(
    isolated_site, smtp_server, monkeypatch
):
    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    rows = queue_mail(5)
    doomed = rows[1]

    def check(message):
        if f"Message-ID: {doomed.message_id}".encode() in message.raw:
            # Deleted while the server takes it: its outcome has nothing to point to.
            OutboxMessage.objects.filter(pk=doomed.pk).delete()

    send = SmtpTransport.send
    spy_on_content_gate(monkeypatch, check)
    with pytest.raises(DatabaseError):
        Worker().run_once()
    # The first message is recorded; the ones after the refused outcome were not sent.
    assert len(server.messages) == 2
    rows[0].refresh_from_db()
    assert rows[0].status == Status.SENT
    waiting = OutboxMessage.objects.filter(pk__in=[row.pk for row in rows[2:]])
    assert set(waiting.values_list("status", flat=True)) == {Status.SENDING}
    # Once their lease runs out they go back to the queue and out, each exactly once.
    waiting.update(lease_expires_at=timezone.now())
    monkeypatch.setattr(SmtpTransport, "send", send)
    assert Worker().run_once() == 3
    assert set(waiting.values_list("status", flat=True)) == {Status.SENT}
    assert len(server.messages) == 5


def test_an_outcome_waits_for_a_write_lock_another_connection_holds(
    isolated_site, smtp_server, monkeypatch
):
    """A lock held elsewhere while an outcome is written delays the outcome; it does not
    lose it (on SQLite's shared cache such a lock fails at once, without a busy timeout)."""
    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    rows = queue_mail(2)
    held, writing, released = threading.Event(), threading.Event(), threading.Event()

    def hold_the_write_lock():
        try:
            with transaction.atomic():  # SQLite: the database's write lock; PostgreSQL: the row's
                OutboxMessage.objects.filter(pk=rows[0].pk).update(subject=F("subject"))
                held.set()
                writing.wait(5)
                time.sleep(0.2)  # the outcome's first try meets the lock
        finally:
            connections.close_all()
            released.set()

    def check(message):
        if not held.is_set():
            threading.Thread(target=hold_the_write_lock, daemon=True).start()
            assert held.wait(5)

    write = OutcomeWriter.write

    def write_and_tell(self, *args):
        writing.set()
        return write(self, *args)

    monkeypatch.setattr(OutcomeWriter, "write", write_and_tell)
    spy_on_content_gate(monkeypatch, check)
    try:
        sent = Worker().run_once()
    finally:
        if held.is_set():
            assert released.wait(5)  # the lock is let go whatever happened
    assert sent == 2
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.SENT}
    assert DeliveryAttempt.objects.filter(succeeded=True).count() == 2
    assert len(server.messages) == 2


def test_after_a_failed_connect_the_database_connection_is_ready_for_more(
    isolated_site, refused_port
):
    use_smtp_server(isolated_site, refused_port)
    queue_mail(3)
    assert Worker().run_once() == 3
    # Every outcome is confirmed: the next query on the same connection runs at once.
    assert OutboxMessage.objects.filter(status=Status.QUEUED).count() == 3
    assert DeliveryAttempt.objects.filter(step="connect", succeeded=False).count() == 3


def test_an_outcome_larger_than_the_socket_buffer_is_stored(isolated_site, smtp_server):
    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    [row] = queue_mail(1)
    # Earlier refusals kept on the message: several megabytes of outcome to write back.
    earlier = {f"left-{n}@example.net": "550 5.1.1 No such user" for n in range(150_000)}
    OutboxMessage.objects.filter(pk=row.pk).update(recipient_status=earlier)
    assert Worker().run_once() == 1
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert len(row.recipient_status) == len(earlier) + 1
    assert row.recipient_status["someone@example.net"] == "accepted"


@pytest.mark.parametrize(
    "moment",
    [
        timezone.now(),
        timezone.now().replace(microsecond=0),
        timezone.now().astimezone(zoneinfo.ZoneInfo("Europe/Amsterdam")),
    ],
)
def test_outcome_datetimes_are_stored_as_the_backend_stores_them(moment):
    """The outcome's own conversion of datetimes gives what Django's would, on every backend."""
    connection = connections[OutboxMessage.objects.db]
    expected = OutboxMessage._meta.get_field("sent_at").get_db_prep_save(moment, connection)
    assert _prepared(OutboxMessage, "sent_at", moment, connection) == expected


def test_a_connection_that_cannot_roll_back_an_outcome_is_closed():
    """Else it could keep SQLite's write lock, and every other connection would wait on it."""

    class Driver:
        in_transaction = True

        def execute(self, sql):
            raise sqlite3.OperationalError("disk I/O error")

    class Connection:
        connection, closed = Driver(), False

        def close(self):
            self.closed = True

    connection = Connection()
    with pytest.raises(OutcomeNotSaved, match="could not roll back an outcome: disk I/O error"):
        _roll_back(connection)
    assert connection.closed

    class Unclosable(Connection):
        def close(self):
            raise sqlite3.OperationalError("closing failed too")

    with pytest.raises(OutcomeNotSaved, match="could not roll back an outcome: disk I/O error"):
        _roll_back(Unclosable())
