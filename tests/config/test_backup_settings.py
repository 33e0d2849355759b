"""The backup SMTP connection (Postroom:Smtp:Backup) and the retry schedule are settings like
any other: values with origins, problems that say where and how to fix them, secrets masked."""

from __future__ import annotations

import json
from datetime import timedelta

from postroom.config import current_backup_settings, current_config
from postroom.config.management.commands.config import render_config
from postroom.delivery.policy import current_policy
from postroom.delivery.retry import RetrySchedule

MAIN = {"From": "site@example.org", "Host": "smtp.main.test", "Port": 587}


def write(site, backup=None, delivery=None, main=MAIN):
    postroom = {}
    if backup is not None:
        postroom["Smtp"] = {"Backup": backup}
    if delivery is not None:
        postroom["Delivery"] = delivery
    settings = {"Umbraco": {"CMS": {"Global": {"Smtp": main}}}, "Postroom": postroom}
    (site / "appsettings.json").write_text(json.dumps(settings, indent=1))


def problems(key: str):
    return [p for p in current_config().problems if (p.key or "").lower() == key.lower()]


def test_no_backup_by_default():
    config = current_config()
    assert not config.backup.configured
    assert current_backup_settings() is None
    assert config.backup.after_temporary_failure_minutes.value == 10


def test_backup_from_the_file_and_the_password_from_the_environment(isolated_site, monkeypatch):
    write(isolated_site, {"Host": "smtp.backup.test", "Port": 465, "Username": "spare"})
    monkeypatch.setenv("Postroom__Smtp__Backup__Password", "the-backup-secret")
    monkeypatch.setenv("Postroom__Smtp__Backup__SecureSocketOptions", "SslOnConnect")
    config = current_config()
    backup = config.backup
    assert (backup.host.value, backup.host.origin) == ("smtp.backup.test", "appsettings.json:16")
    assert backup.port.value == 465
    assert backup.password.origin == "env:Postroom__Smtp__Backup__Password"
    assert config.problems == ()
    settings = current_backup_settings()
    assert settings is not None and settings.configured
    assert settings.from_address.value == "site@example.org"  # the main From
    assert settings.password.value.reveal() == "the-backup-secret"

    shown = json.dumps(config.as_json())
    assert "the-backup-secret" not in shown
    assert config.as_json()["backup"]["Postroom:Smtp:Backup:Password"]["value"] == "********"
    text = render_config(config)
    assert "Backup SMTP connection" in text and "smtp.backup.test" in text
    assert "the-backup-secret" not in text


def test_a_backup_host_alone_in_the_environment_is_enough(monkeypatch):
    monkeypatch.setenv("Postroom__Smtp__Backup__Host", "smtp.backup.test")
    backup = current_config().backup
    assert backup.configured and backup.port.value == 25
    assert backup.host.origin == "env:Postroom__Smtp__Backup__Host"


def test_invalid_backup_values_are_problems_that_name_the_key(isolated_site):
    write(
        isolated_site,
        {
            "Host": "smtp://backup.test:587",
            "Port": "five-eight-seven",
            "AfterTemporaryFailureMinutes": -1,
            "Hots": "typo",
        },
    )
    config = current_config()
    [host] = problems("Postroom:Smtp:Backup:Host")
    assert host.level == "error" and host.section == "backup"
    assert "without scheme or port" in host.message and host.source == "appsettings.json"
    assert not config.backup.configured  # an unusable host: no backup, said so
    [port] = problems("Postroom:Smtp:Backup:Port")
    assert "five-eight-seven" in port.message
    [after] = problems("Postroom:Smtp:Backup:AfterTemporaryFailureMinutes")
    assert config.backup.after_temporary_failure_minutes.value == 10
    assert "invalid" in config.backup.after_temporary_failure_minutes.origin
    [typo] = problems("Postroom:Smtp:Backup:Hots")
    assert typo.level == "warning" and "Did you mean Postroom:Smtp:Backup:Host" in typo.hint


def test_backup_keys_without_a_host_and_a_lonely_password_are_warnings(isolated_site, monkeypatch):
    write(isolated_site, {"Port": 587})
    [warning] = problems("Postroom:Smtp:Backup:Host")
    assert warning.level == "warning" and "no backup connection" in warning.message

    write(isolated_site, {"Host": "smtp.backup.test", "SecureSocketOptions": "None"})
    monkeypatch.setenv("Postroom__Smtp__Backup__Password", "pw-in-clear-text")
    found = {p.key: p for p in current_config().problems}
    assert "Username" in found["Postroom:Smtp:Backup:Username"].message
    assert "unencrypted" in found["Postroom:Smtp:Backup:SecureSocketOptions"].message
    assert all("pw-in-clear-text" not in str(p) for p in found.values())


def test_backup_as_a_string_is_an_error(isolated_site):
    (isolated_site / "appsettings.json").write_text(
        json.dumps({"Postroom": {"Smtp": {"Backup": "smtp.backup.test"}}})
    )
    errors = [p for p in current_config().errors if "must be an object" in p.message]
    assert errors and "Backup" in errors[0].message


def test_the_retry_schedule_defaults_to_todays_values():
    schedule = current_policy().retry
    assert schedule == RetrySchedule(timedelta(seconds=30), 2.0, timedelta(hours=1))
    delivery = current_config().delivery
    assert delivery.retry_first_delay_seconds.origin == "default"


def test_the_retry_schedule_is_read_and_checked(isolated_site, monkeypatch):
    write(isolated_site, delivery={"RetryFirstDelaySeconds": 10, "RetryMaxDelayMinutes": 5})
    monkeypatch.setenv("Postroom__Delivery__RetryBackoffFactor", "3")
    assert current_policy().retry == RetrySchedule(timedelta(seconds=10), 3.0, timedelta(minutes=5))
    monkeypatch.setenv("Postroom__Delivery__RetryBackoffFactor", "0.5")
    [found] = problems("Postroom:Delivery:RetryBackoffFactor")
    assert found.level == "error" and "a number from 1 to 10" in found.message
    assert current_policy().retry.factor == 2.0
