"""The backup connection: mail goes to the second SMTP server when the main one fails, and
the email log says which connection carried each attempt."""

import json
from pathlib import Path

import pytest
from django.utils import timezone

from postroom.delivery import backup, worker
from postroom.delivery.models import DeliveryAttempt, OutboxMessage
from sites import queue_mail

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    """Each test starts with nothing known about any server, on a clock it can move."""
    now = [1000.0]
    monkeypatch.setattr(backup, "clock", lambda: now[0])
    backup.forget()
    yield now
    backup.forget()


def use_servers(site: Path, main_port: int, backup_port: int, main=None, **backup_keys):
    """Main server on ``main_port`` (overridable keys in ``main``), backup on ``backup_port``."""
    smtp = {
        "From": "site@example.org",
        "Host": "127.0.0.1",
        "Port": main_port,
        "SecureSocketOptions": "None",
        **(main or {}),
    }
    spare = {"Host": "127.0.0.1", "Port": backup_port, "SecureSocketOptions": "None"}
    settings = {
        "Umbraco": {"CMS": {"Global": {"Smtp": smtp}}},
        "Postroom": {"Smtp": {"TimeoutSeconds": 5, "Backup": {**spare, **backup_keys}}},
    }
    (site / "appsettings.json").write_text(json.dumps(settings))


def connections(row: OutboxMessage) -> list[str]:
    return list(row.attempts.order_by("id").values_list("connection", flat=True))


def make_due() -> None:
    OutboxMessage.objects.update(next_attempt_at=timezone.now())


def test_a_main_server_that_refuses_connections_sends_the_batch_to_the_backup(
    isolated_site, refused_port, smtp_server
):
    spare = smtp_server()
    use_servers(isolated_site, refused_port, spare.port)
    rows = queue_mail(3)
    assert worker.run_once() == 3
    assert len(spare.messages) == 3
    assert spare.connections == 1
    for row in rows:
        row.refresh_from_db()
        assert row.status == "sent"
        assert connections(row) == ["backup"]
        assert row.attempts.get().outcome == "sent"


def test_a_main_server_whose_tls_fails_sends_to_the_backup(isolated_site, smtp_server):
    main = smtp_server()  # offers no STARTTLS, and the settings require it
    spare = smtp_server()
    use_servers(isolated_site, main.port, spare.port, main={"SecureSocketOptions": "StartTls"})
    (row,) = queue_mail()
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "sent"
    assert connections(row) == ["backup"]
    assert main.messages == [] and len(spare.messages) == 1


def test_a_main_server_that_refuses_the_login_sends_to_the_backup(isolated_site, smtp_server):
    main = smtp_server(username="mailer", password="right-one", auth_require_tls=False)
    spare = smtp_server()
    use_servers(
        isolated_site, main.port, spare.port, main={"Username": "mailer", "Password": "wrong-one"}
    )
    (row,) = queue_mail()
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "sent"
    assert main.auth_attempts and set(main.auth_attempts) == {"mailer"}
    assert connections(row) == ["backup"]


def test_a_working_main_server_carries_the_mail_and_the_log_says_main(isolated_site, smtp_server):
    main, spare = smtp_server(), smtp_server()
    use_servers(isolated_site, main.port, spare.port)
    (row,) = queue_mail()
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "sent" and connections(row) == ["main"]
    assert spare.connections == 0


def test_4xx_answers_switch_to_the_backup_only_after_the_set_time(
    isolated_site, smtp_server, fresh_state
):
    main = smtp_server(mail_reply="451 4.3.0 Try again later")
    spare = smtp_server()
    use_servers(isolated_site, main.port, spare.port, AfterTemporaryFailureMinutes=2)
    (row,) = queue_mail()
    worker.run_once()  # the first 4xx
    fresh_state[0] += 60
    make_due()
    worker.run_once()  # 4xx for a minute: still the main server
    row.refresh_from_db()
    assert row.status == "queued" and connections(row) == ["main", "main"]

    fresh_state[0] += 61
    make_due()
    worker.run_once()  # 4xx for two minutes: this was the last try on the main server
    make_due()
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "sent"
    assert connections(row) == ["main", "main", "main", "backup"]
    assert [a.outcome for a in row.attempts.order_by("id")] == ["queued"] * 3 + ["sent"]
    assert len(spare.messages) == 1 and main.messages == []


def test_with_zero_minutes_the_first_4xx_switches(isolated_site, smtp_server):
    main = smtp_server(refuse={"someone@example.net": "450 4.2.1 Mailbox busy"})
    spare = smtp_server()
    use_servers(isolated_site, main.port, spare.port, AfterTemporaryFailureMinutes=0)
    (row,) = queue_mail()
    worker.run_once()
    make_due()
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "sent"
    assert connections(row) == ["main", "backup"]


def test_after_a_failed_connection_the_main_server_is_tried_again_after_a_pause(
    isolated_site, smtp_server, fresh_state
):
    down = "421 4.3.2 Service not available"
    main = smtp_server(ehlo_reply=down, helo_reply=down)
    spare = smtp_server()
    use_servers(isolated_site, main.port, spare.port)
    queue_mail()
    worker.run_once()
    main.handler.ehlo_reply = main.handler.helo_reply = None  # back, but nobody knows yet
    queue_mail()
    worker.run_once()
    assert len(spare.messages) == 2 and main.connections == 1

    fresh_state[0] += backup.TRY_MAIN_AGAIN.total_seconds()
    queue_mail()
    worker.run_once()
    assert len(main.messages) == 1
    assert connections(OutboxMessage.objects.first()) == ["main"]


def test_after_a_pause_a_main_server_that_recovered_carries_the_mail(
    isolated_site, smtp_server, fresh_state
):
    main = smtp_server(mail_reply="451 4.3.0 Try again later")
    spare = smtp_server()
    use_servers(isolated_site, main.port, spare.port, AfterTemporaryFailureMinutes=0)
    queue_mail()
    worker.run_once()  # 4xx: switched
    main.handler.mail_reply = None
    fresh_state[0] += 60
    queue_mail()
    worker.run_once()  # within the pause: the backup
    assert len(spare.messages) == 1
    fresh_state[0] += backup.TRY_MAIN_AGAIN.total_seconds()
    make_due()
    worker.run_once()
    assert len(main.messages) == 1  # the first message's retry went to the main server again


def test_the_backup_uses_its_own_from_as_envelope_sender(isolated_site, refused_port, smtp_server):
    spare = smtp_server()
    use_servers(isolated_site, refused_port, spare.port, From="bounces@backup.example.org")
    queue_mail()
    worker.run_once()
    assert spare.messages[0].mail_from == "bounces@backup.example.org"


def test_when_both_fail_the_message_waits_and_says_why_for_both(
    isolated_site, refused_port, smtp_server
):
    from smtpservers import free_port

    use_servers(isolated_site, refused_port, free_port())
    (row,) = queue_mail()
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "queued"
    assert "The main server failed" in row.last_reply
    assert "The backup server failed too" in row.last_reply
    assert connections(row) == ["backup"]


def test_without_a_backup_a_failing_main_server_just_retries(isolated_site, refused_port):
    from sites import use_smtp_server

    use_smtp_server(isolated_site, refused_port)
    (row,) = queue_mail()
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "queued"
    assert connections(row) == ["main"]


def test_invitations_through_the_fallback_relay_never_use_the_backup(
    isolated_site, refused_port, smtp_server, monkeypatch
):
    relay, spare = smtp_server(), smtp_server()
    monkeypatch.setenv("POSTROOM_FALLBACK_SMTP_URL", f"smtp://127.0.0.1:{relay.port}")
    use_servers(isolated_site, refused_port, spare.port)
    (row,) = queue_mail(kind="invite", channel="fallback")
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "sent"
    assert connections(row) == ["fallback"]
    assert len(relay.messages) == 1 and spare.messages == []
    assert DeliveryAttempt.objects.filter(connection="backup").count() == 0


def test_a_backup_that_fails_while_the_main_server_is_avoided_says_so(
    isolated_site, refused_port, smtp_server
):
    spare = smtp_server()
    use_servers(isolated_site, refused_port, spare.port)
    queue_mail()
    worker.run_once()
    spare.stop()
    (row,) = queue_mail()
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "queued"
    assert row.last_reply.startswith("The backup server failed (the main server 127.0.0.1:")
    assert connections(row) == ["backup"]
