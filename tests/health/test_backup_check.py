"""Health checks probe both SMTP servers: the main one and the backup, step by step."""

from __future__ import annotations

import pytest

from health.runs import run_by_step

BACKUP = "Postroom__Smtp__Backup__"


@pytest.fixture
def configure_backup(monkeypatch):
    def configure(**values: object) -> None:
        for key, value in values.items():
            monkeypatch.setenv(BACKUP + key, str(value))

    return configure


def test_without_a_backup_the_check_says_how_to_set_one_up():
    run, found = run_by_step("smtp-backup")
    assert run.status == "info"
    assert "No backup SMTP server" in found["settings"].message
    assert "Postroom__Smtp__Backup__Host" in found["settings"].fix


def test_both_servers_are_probed_and_each_check_reports_its_own(
    configure_smtp, configure_backup, smtp_server, refused_port
):
    main = smtp_server()
    configure_smtp(host=main.host, port=main.port, security="None")
    configure_backup(Host="127.0.0.1", Port=refused_port, SecureSocketOptions="None")

    main_run, _ = run_by_step("smtp")
    backup_run, found = run_by_step("smtp-backup")

    assert main_run.status in ("success", "info")  # no TLS on loopback is a note
    assert main.connections == 1
    assert backup_run.status == "error"
    assert found["connect"].status == "error"
    assert str(refused_port) in found["connect"].message


def test_a_backup_that_logs_in_passes_every_step(
    configure_smtp, configure_backup, smtp_server, certificates, monkeypatch
):
    main = smtp_server()
    spare = smtp_server(
        tls_context=certificates.server_context(), username="spare", password="spare-secret-1"
    )
    configure_smtp(host=main.host, port=main.port, security="None")
    configure_backup(
        Host=spare.host,
        Port=spare.port,
        SecureSocketOptions="StartTls",
        Username="spare",
        Password="spare-secret-1",
        CaFile=certificates.ca_file,
    )
    run, found = run_by_step("smtp-backup")
    assert run.status == "success", [r.message for r in run.results]
    assert found["auth"].message.startswith("Logged in as spare")
    assert "A backup is set up" in found["settings"].message
    assert spare.auth_attempts == ["spare"] and main.connections == 0
    assert all("spare-secret-1" not in f"{r.message} {r.fix}" for r in run.results)


def test_backup_problems_show_in_the_check(configure_smtp, configure_backup, smtp_server):
    main = smtp_server()
    configure_smtp(host=main.host, port=main.port, security="None")
    configure_backup(Host="smtp://nope", Port="x")
    run, found = run_by_step("smtp-backup")
    assert run.status == "error"
    text = " ".join(r.message for r in run.results)
    assert "Postroom:Smtp:Backup:Host" in text and "Postroom:Smtp:Backup:Port" in text


def test_a_backup_without_a_main_server_is_not_probed(configure_backup, smtp_server):
    spare = smtp_server()
    configure_backup(Host="127.0.0.1", Port=spare.port)
    run, found = run_by_step("smtp-backup")
    assert run.status == "info" and "no main SMTP server" in found["settings"].message
    assert spare.connections == 0
