"""The configuration snapshot: every section's values with their origins, and an invalid value
is a reported problem (where, what, how to fix it), never a silent default."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest

from postroom.config import current_config
from postroom.delivery.policy import current_policy


def problem(key: str):
    [found] = [p for p in current_config().problems if p.key == key]
    return found


def test_nothing_configured_has_no_problems_and_every_default_says_so():
    config = current_config()

    assert config.problems == ()
    assert config.delivery.give_up_after_hours.value == 72
    assert config.delivery.give_up_after_hours.origin == "default"
    assert config.hosting.lease_seconds.value == 300
    assert config.security.invite_expiry.value == timedelta(hours=72)


def test_values_come_from_the_files_with_file_and_line(isolated_site):
    (isolated_site / "appsettings.json").write_text(
        '{\n "Postroom": {\n  "Delivery": {\n   "GiveUpAfterHours": 24\n  }\n }\n}'
    )

    setting = current_config().delivery.give_up_after_hours

    assert (setting.value, setting.origin) == (24, "appsettings.json:4")
    assert current_policy().give_up_after == timedelta(hours=24)


def test_give_up_after_3d_is_an_error_not_a_silent_72(monkeypatch):
    monkeypatch.setenv("Postroom__Delivery__GiveUpAfterHours", "3d")

    found = problem("Postroom:Delivery:GiveUpAfterHours")
    setting = current_config().delivery.give_up_after_hours

    assert found.level == "error" and found.source == "env"
    assert "Postroom__Delivery__GiveUpAfterHours is '3d'" in found.message
    assert "whole number" in found.message
    assert "72 for three days" in found.hint  # how to write what was meant
    assert setting.origin == "default (env:Postroom__Delivery__GiveUpAfterHours is invalid)"


def test_a_changed_variable_is_read_again_and_an_unchanged_snapshot_is_kept(
    monkeypatch, isolated_site
):
    past = time.time() - 60  # a directory changed within two seconds is read at every call
    os.utime(isolated_site, (past, past))
    current_config()
    first = current_config()
    assert current_config() is first  # nothing changed: not read again

    monkeypatch.setenv("Postroom__Delivery__KeepLogDays", "90")

    assert current_config().delivery.keep_log_days.value == 90
    assert current_policy().keep_log == timedelta(days=90)


@pytest.mark.parametrize(
    "url",
    [
        "hooks.example.com/services/T0/s3cr3t-token",  # no scheme
        "ftp://hooks.example.com/s3cr3t-token",
        "file:///etc/s3cr3t-token",
        "https:///s3cr3t-token",  # no host
        "https://hooks.example.com:99999/s3cr3t-token",
        "https://hooks.example.com/s3cr3t token",
    ],
)
def test_an_unusable_alert_webhook_url_is_a_problem_that_never_quotes_it(monkeypatch, url):
    monkeypatch.setenv("Postroom__Alerts__WebhookUrl", url)

    found = problem("Postroom:Alerts:WebhookUrl")
    config = current_config()

    assert found.level == "error"
    assert "alerts are not posted to it" in found.message
    assert "https://" in found.hint
    assert config.alerts.webhook_url.value is None
    assert current_policy().alert_webhook_url is None
    assert "s3cr3t" not in str(found) + str(config.as_json()) + repr(config)


def test_a_valid_webhook_url_is_used_and_masked(monkeypatch):
    url = "https://hooks.example.com/services/T0/s3cr3t-token"
    monkeypatch.setenv("Postroom__Alerts__WebhookUrl", url)

    config = current_config()

    assert config.problems == ()
    assert current_policy().alert_webhook_url == url
    assert config.as_json()["alerts"]["Postroom:Alerts:WebhookUrl"] == {
        "value": "********",
        "origin": "env:Postroom__Alerts__WebhookUrl",
    }
    assert "s3cr3t" not in repr(current_policy()) + repr(config)


def test_security_values_and_the_dotnet_time_span(monkeypatch):
    monkeypatch.setenv("Umbraco__CMS__Security__UserInviteEmailExpiry", "2.00:00:00")
    monkeypatch.setenv("Postroom__Security__LockoutMinutes", "forever")

    security = current_config().security

    assert security.invite_expiry.value == timedelta(days=2)
    assert security.invite_expiry.origin == "env:Umbraco__CMS__Security__UserInviteEmailExpiry"
    assert security.lockout_minutes.value == 15
    assert "LockoutMinutes is 'forever'" in problem("Postroom:Security:LockoutMinutes").message


def test_health_values(monkeypatch):
    monkeypatch.setenv("Postroom__Health__DnsServer", "[::1]:5353")
    monkeypatch.setenv("Postroom__HealthReport__Detail", "Everything")

    health = current_config().health

    assert health.dns_server.value == ("::1", 5353)
    assert health.report_detail.value == "Summary"
    assert "expected one of Summary, Detailed" in problem("Postroom:HealthReport:Detail").message


def test_the_smtp_section_and_its_problems_are_part_of_the_snapshot(monkeypatch):
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__Port", "twenty-five")

    config = current_config()

    assert config.smtp.port.origin == "env:Umbraco__CMS__Global__Smtp__Port"
    [error] = config.errors
    assert (error.section, error.key) == ("smtp", "port")


def test_mailsettings_readers_keep_working(monkeypatch):
    from postroom.config import current_smtp_settings, read_int, read_setting

    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__Host", "smtp.example.org")
    monkeypatch.setenv("Postroom__Custom__Number", "7")

    assert current_smtp_settings().host.value == "smtp.example.org"
    assert read_setting("Postroom:Custom:Number").value == "7"
    assert read_int("Postroom:Custom:Number", 1)[0].value == 7


def test_an_object_where_a_number_belongs_is_a_problem_not_ignored(isolated_site):
    (isolated_site / "appsettings.json").write_text(
        '{"Postroom": {"Delivery": {"KeepLogDays": {"Days": 30}}}}'
    )

    found = problem("Postroom:Delivery:KeepLogDays")

    assert (found.source, found.line) == ("appsettings.json", 1)
    assert "Postroom:Delivery:KeepLogDays is an object; expected a whole number" in found.message
    assert current_config().delivery.keep_log_days.value == 365


def test_a_misspelt_key_is_a_warning_that_suggests_the_right_one(isolated_site, monkeypatch):
    (isolated_site / "appsettings.json").write_text(
        '{"Postroom": {"Delivery": {\n"GiveUpAfterHour": 24}}}'
    )
    monkeypatch.setenv("Postroom__Alerts__Every", "5")

    config = current_config()

    delivery = problem("Postroom:Delivery:GiveUpAfterHour")
    assert (delivery.level, delivery.source, delivery.line) == ("warning", "appsettings.json", 2)
    assert "is not a setting Postroom knows" in delivery.message
    assert delivery.hint == "Did you mean Postroom:Delivery:GiveUpAfterHours?"
    assert "Postroom:Alerts:EveryMinutes" in problem("Postroom:Alerts:Every").hint
    assert config.delivery.give_up_after_hours.value == 72
