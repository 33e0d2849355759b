"""The worker takes queued mail to the configured server and records what the server said."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from postroom.delivery import worker
from postroom.delivery.models import OutboxMessage
from sites import queue_mail, use_smtp_server

pytestmark = pytest.mark.django_db


def test_queued_mail_is_delivered_over_one_connection(isolated_site, smtp_server):
    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    rows = queue_mail(5)
    assert worker.run_once() == 5
    assert len(server.messages) == 5
    assert server.connections == 1
    for row in rows:
        row.refresh_from_db()
        assert row.status == "sent"
        assert row.last_reply.startswith("250")
        assert row.recipient_status == {"someone@example.net": "accepted"}
        attempt = row.attempts.get()
        assert attempt.succeeded
        assert attempt.transport == f"127.0.0.1:{server.port} without TLS"
    received = server.messages[0]
    assert received.mail_from == "site@example.org"
    assert received.raw.rstrip(b"\r\n") == bytes(rows[0].raw).rstrip(b"\r\n")


def test_a_temporary_refusal_is_retried_later_and_then_delivered(isolated_site, smtp_server):
    server = smtp_server(mail_reply="451 4.3.0 Try again later")
    use_smtp_server(isolated_site, server.port)
    (row,) = queue_mail()
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "queued"
    assert row.next_attempt_at > timezone.now()
    assert "451 4.3.0 Try again later" in row.last_reply
    assert row.attempts.get().step == "mail"
    assert worker.run_once() == 0  # not due yet

    server.handler.mail_reply = None
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "sent"
    assert row.attempt_count == 2
    assert len(server.messages) == 1


def test_a_permanent_refusal_fails_the_message_with_the_servers_text(isolated_site, smtp_server):
    server = smtp_server(data_reply="554 5.7.1 Message rejected as spam")
    use_smtp_server(isolated_site, server.port)
    (row,) = queue_mail()
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "failed"
    assert "554 5.7.1 Message rejected as spam" in row.last_reply


def test_refused_recipients_are_recorded_one_by_one(isolated_site, smtp_server):
    server = smtp_server(refuse={"nobody@example.net": "550 5.1.1 No such user"})
    use_smtp_server(isolated_site, server.port)
    (row,) = queue_mail(to=("someone@example.net", "nobody@example.net"))
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "sent"
    assert row.recipient_status["someone@example.net"] == "accepted"
    assert "550 5.1.1 No such user" in row.recipient_status["nobody@example.net"]
    assert server.messages[0].rcpt_tos == ("someone@example.net",)


def test_a_server_that_is_down_loses_nothing(isolated_site, refused_port, smtp_server):
    use_smtp_server(isolated_site, refused_port)
    rows = queue_mail(3)
    worker.run_once()
    for row in rows:
        row.refresh_from_db()
        assert row.status == "queued"
        assert row.attempts.get().step == "connect"
        assert "refused" in row.last_reply.lower()

    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    worker.run_once()
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    assert len(server.messages) == 3


def test_in_production_without_settings_mail_is_held_then_released(
    isolated_site, monkeypatch, smtp_server
):
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")
    (row,) = queue_mail()
    assert worker.run_once() == 0
    row.refresh_from_db()
    assert row.status == "held"

    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "sent"
    assert len(server.messages) == 1


def test_a_pickup_directory_gets_one_eml_file_per_message(isolated_site):
    pickup = isolated_site / "mail"
    pickup.mkdir()
    smtp = {
        "From": "site@example.org",
        "DeliveryMethod": "SpecifiedPickupDirectory",
        "PickupDirectoryLocation": str(pickup),
    }
    (isolated_site / "appsettings.json").write_text(
        json.dumps({"Umbraco": {"CMS": {"Global": {"Smtp": smtp}}}})
    )
    queue_mail(2)
    worker.run_once()
    files = sorted(pickup.glob("*.eml"))
    assert len(files) == 2
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_a_recipient_refused_for_now_is_retried_alone(isolated_site, smtp_server):
    server = smtp_server(refuse={"busy@example.net": "450 4.2.1 Mailbox busy"})
    use_smtp_server(isolated_site, server.port)
    (row,) = queue_mail(to=("someone@example.net", "busy@example.net"))
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "queued"
    assert row.recipient_status["someone@example.net"] == "accepted"

    server.handler.refuse = {}
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "sent"
    assert [m.rcpt_tos for m in server.messages] == [
        ("someone@example.net",),
        ("busy@example.net",),
    ]


def test_mail_is_given_up_after_the_configured_age(isolated_site, refused_port):
    use_smtp_server(isolated_site, refused_port)
    (row,) = queue_mail()
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=4))
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "failed"
    assert row.last_reply.startswith("Gave up after 3 days")


def test_a_rate_limit_spaces_messages_out(isolated_site, smtp_server, monkeypatch):
    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    monkeypatch.setenv("Postroom__Delivery__MessagesPerSecond", "20")
    queue_mail(6)
    started = time.monotonic()
    worker.run_once()
    # One shared bucket: a connection that comes late may catch up by one permit.
    assert time.monotonic() - started >= 4 / 20
    assert len(server.messages) == 6


def test_a_poisoned_message_does_not_stall_the_queue(isolated_site, smtp_server, monkeypatch):
    from postroom.delivery.transports.smtp import SmtpTransport

    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    bad, good = queue_mail(2)
    OutboxMessage.objects.filter(pk=bad.pk).update(raw=b"Subject: POISON\r\n\r\nBody\r\n")
    send = SmtpTransport.send

    def send_or_crash(self, message, before_content=None, then=None):
        if b"POISON" in message.raw:  # stands for a bug this message triggers
            raise RuntimeError("unexpected")
        return send(self, message, before_content, then)

    monkeypatch.setattr(SmtpTransport, "send", send_or_crash)
    worker.run_once()
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.status == "failed"
    assert "RuntimeError: unexpected" in bad.last_reply
    assert good.status == "sent"
    assert len(server.messages) == 1


def test_invitations_use_the_fallback_relay_when_the_site_has_no_smtp(
    monkeypatch, smtp_server, certificates
):
    # smtp:// logs in only over STARTTLS: the relay offers it, with a certificate trusted here.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))
    relay = smtp_server(
        tls_context=certificates.server_context(), username="relay-user", password="relay-pass"
    )
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")
    monkeypatch.setenv(
        "POSTROOM_FALLBACK_SMTP_URL", f"smtp://relay-user:relay-pass@127.0.0.1:{relay.port}"
    )
    (invite,) = queue_mail(kind="invite", channel="fallback")
    (form,) = queue_mail(kind="form")
    worker.run_once()
    invite.refresh_from_db()
    form.refresh_from_db()
    assert invite.status == "sent"
    assert "relay-pass" not in invite.attempts.get().transport
    assert form.status == "held"
    assert relay.messages[0].login == "relay-user"
    assert relay.messages[0].tls is True
    assert len(relay.messages) == 1


def test_a_worker_writes_a_heartbeat_and_removes_it_when_it_stops(isolated_site, smtp_server):
    import threading

    from postroom.delivery.models import WorkerHeartbeat

    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    queue_mail(2)
    w = worker.Worker(name="beating")
    w.run(threading.Event(), burst=True)
    assert not WorkerHeartbeat.objects.exists()  # gone after a clean stop
    queue_mail(2)
    w.run_once()
    w._last_beat = 0
    w._heartbeat()
    beat = WorkerHeartbeat.objects.get(worker_id="beating")
    assert beat.delivered == 4  # counted since the worker started


def test_a_refused_login_keeps_mail_queued_instead_of_failing_it(
    isolated_site, smtp_server, certificates
):
    server = smtp_server(
        tls_context=certificates.server_context(), username="mailer", password="right-one"
    )
    use_smtp_server(
        isolated_site,
        server.port,
        SecureSocketOptions="StartTls",
        Username="mailer",
        Password="wrong-one",
    )
    config = json.loads((isolated_site / "appsettings.json").read_text())
    config["Postroom"] = {"Smtp": {"CaFile": str(certificates.ca_file)}}
    (isolated_site / "appsettings.json").write_text(json.dumps(config))
    rows = queue_mail(3)
    worker.run_once()
    for row in rows:
        row.refresh_from_db()
        assert row.status == "queued"
        assert "535" in row.last_reply
        assert row.attempts.get().step == "auth"


def test_retries_follow_the_configured_schedule(isolated_site, smtp_server, monkeypatch):
    monkeypatch.setenv("Postroom__Delivery__RetryFirstDelaySeconds", "600")
    server = smtp_server(mail_reply="451 4.3.0 Try again later")
    use_smtp_server(isolated_site, server.port)
    (row,) = queue_mail()
    before = timezone.now()
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "queued"
    delay = (row.next_attempt_at - before).total_seconds()
    assert 600 * 0.8 - 1 <= delay <= 600 * 1.2 + 1


def test_a_test_message_keeps_its_one_try_whatever_the_schedule(
    isolated_site, smtp_server, monkeypatch
):
    monkeypatch.setenv("Postroom__Delivery__RetryFirstDelaySeconds", "1")
    monkeypatch.setenv("Postroom__Delivery__GiveUpAfterHours", "1000")
    server = smtp_server(mail_reply="451 4.3.0 Try again later")
    use_smtp_server(isolated_site, server.port)
    (row,) = queue_mail(kind="test")
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "failed"
    assert row.attempts.get().outcome == "failed"


def _claims_failing(monkeypatch, times: int) -> list[int]:
    """Make the first ``times`` claims fail as a lock held elsewhere makes them fail."""
    from django.db import OperationalError

    from postroom.delivery import queue

    claim, calls = queue.claim, []

    def failing_claim(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("database table is locked")
        return claim(*args, **kwargs)

    monkeypatch.setattr(queue, "claim", failing_claim)
    return calls


@pytest.mark.django_db(transaction=True)
def test_a_burst_run_gets_past_a_database_error_with_mail_still_due(
    isolated_site, smtp_server, monkeypatch
):
    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    queue_mail(3)
    _claims_failing(monkeypatch, times=1)
    worker.Worker(name="bursting").run(threading.Event(), burst=True)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    assert len(server.messages) == 3


@pytest.mark.django_db(transaction=True)
def test_a_burst_run_ends_when_the_database_keeps_failing(isolated_site, smtp_server, monkeypatch):
    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    queue_mail(1)
    calls = _claims_failing(monkeypatch, times=1_000)
    started = time.monotonic()
    worker.Worker(name="bursting").run(threading.Event(), burst=True)
    assert time.monotonic() - started < 10  # a few tries a second apart, then it gives up
    assert len(calls) == worker.BURST_RETRIES_AFTER_ERROR + 1
    assert OutboxMessage.objects.get().status == "queued" and not server.messages


@pytest.mark.django_db(transaction=True)
def test_a_message_the_server_took_is_not_sent_again_when_recording_it_fails(
    isolated_site, smtp_server, monkeypatch
):
    from postroom.delivery import results

    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    [row] = queue_mail(1)

    def broken(*args, **kwargs):
        raise RuntimeError("a defect in recording the outcome")

    monkeypatch.setattr(results, "after_result", broken)
    worker.Worker(name="bursting").run(threading.Event(), burst=True)
    # Taken once, then left to its lease (as after a kill): not given back and sent again.
    assert len(server.messages) == 1
    row.refresh_from_db()
    assert row.status == "sending"
