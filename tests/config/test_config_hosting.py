"""Hosting variables (POSTROOM_*): validated once, in the configuration, with a fix for each."""

from __future__ import annotations

import logging

import pytest
from django.test import RequestFactory

from postroom.backoffice.webserver import proxy_options
from postroom.config import current_config
from postroom.core.links import MissingBaseUrl, absolute_link
from postroom.delivery.routing import fallback_route
from postroom.health.registry import get_check
from postroom.health.runner import run_check

pytestmark = pytest.mark.django_db


def problem(key: str):
    [found] = [p for p in current_config().problems if p.key == key]
    return found


def test_lease_5m_is_an_error_that_stops_the_worker_and_serve_but_not_the_web(monkeypatch):
    monkeypatch.setenv("POSTROOM_LEASE_SECONDS", "5m")
    config = current_config()

    [found] = config.blocking_problems("worker")

    assert found.key == "POSTROOM_LEASE_SECONDS"
    assert "POSTROOM_LEASE_SECONDS is '5m'" in found.message
    assert "POSTROOM_LEASE_SECONDS=300" in found.hint
    assert config.blocking_problems("serve") == (found,)
    assert config.blocking_problems("web") == ()


def test_a_fractional_lease_is_fine(monkeypatch):
    monkeypatch.setenv("POSTROOM_LEASE_SECONDS", "60.5")  # more than twice the SMTP timeout

    assert current_config().hosting.lease_seconds.value == 60.5
    assert current_config().problems == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://cms.example.com/", "https://cms.example.com"),
        ("https://CMS.example.com/postroom/", "https://cms.example.com/postroom"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ],
)
def test_the_base_url_is_normalised(monkeypatch, value, expected):
    monkeypatch.setenv("POSTROOM_BASE_URL", value)

    assert current_config().hosting.base_url.value == expected
    assert absolute_link(None, "/accept/x/") == expected + "/accept/x/"


@pytest.mark.parametrize("value", ["example.com", "cms.example.com/postroom", "ftp://x.example"])
def test_a_base_url_without_http_scheme_is_a_problem_and_not_used(monkeypatch, value):
    monkeypatch.setenv("POSTROOM_BASE_URL", value)
    request = RequestFactory().get("/", HTTP_HOST="localhost")

    found = problem("POSTROOM_BASE_URL")

    assert current_config().hosting.base_url.value is None
    assert f"POSTROOM_BASE_URL is {value!r}" in found.message and "https://" in found.message
    with pytest.raises(MissingBaseUrl) as caught:  # never a link from a value it cannot use
        absolute_link(request, "/a/")
    assert "POSTROOM_BASE_URL" in str(caught.value)


def test_in_production_a_missing_base_url_is_a_warning_saying_how_to_set_it(monkeypatch):
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")
    monkeypatch.delenv("POSTROOM_BASE_URL", raising=False)

    found = problem("POSTROOM_BASE_URL")

    assert found.level == "warning"
    assert "POSTROOM_BASE_URL=https://" in found.hint


def test_a_malformed_relay_url_is_one_problem_with_no_error_log(monkeypatch, caplog):
    monkeypatch.setenv("POSTROOM_FALLBACK_SMTP_URL", "smtp://user:pw-s3cr3t@relay.example:abc")
    caplog.set_level(logging.DEBUG)
    from postroom.delivery import worker

    for _ in range(3):
        worker.run_once()

    found = problem("POSTROOM_FALLBACK_SMTP_URL")
    assert "POSTROOM_FALLBACK_SMTP_URL is invalid" in found.message
    assert "smtp+starttls://" in found.hint
    assert fallback_route() is None  # also in Development: no silent stand-in
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "s3cr3t" not in caplog.text + str(current_config().as_json())


def test_the_health_check_says_the_relay_url_is_invalid_and_how_to_fix_it(monkeypatch):
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")
    monkeypatch.setenv("POSTROOM_FALLBACK_SMTP_URL", "relay.example:587")

    run = run_check(get_check("invitations"))

    assert run.status == "error"
    [result] = run.results
    assert "URL is invalid" in result.message and "no relay" not in result.message
    assert "smtp+starttls://user:pass@relay.example:587" in result.fix


def test_a_valid_relay_is_shown_with_its_password_masked(monkeypatch):
    monkeypatch.setenv("POSTROOM_FALLBACK_SMTP_URL", "smtps://user:pw-s3cr3t@relay.example")

    relay = current_config().as_json()["hosting"]["POSTROOM_FALLBACK_SMTP_URL"]

    assert relay == {
        "value": "smtps://user:********@relay.example:465",
        "origin": "env:POSTROOM_FALLBACK_SMTP_URL",
    }
    assert "relay.example:465" in fallback_route().description


def test_a_trusted_proxy_that_is_no_ip_address_is_a_problem_and_not_trusted(monkeypatch):
    monkeypatch.setenv("POSTROOM_TRUSTED_PROXY", "proxy.internal")

    assert "POSTROOM_TRUSTED_PROXY is 'proxy.internal'" in problem("POSTROOM_TRUSTED_PROXY").message
    assert proxy_options() == {}


def test_an_unusable_database_url_stops_every_part_and_is_never_quoted(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysqlx://user:pw-s3cr3t@db/postroom")

    found = problem("DATABASE_URL")

    assert set(found.blocks) >= {"web", "worker", "serve"}
    assert "s3cr3t" not in str(found)


def test_the_configuration_health_check_lists_every_problem_with_its_fix(monkeypatch):
    monkeypatch.setenv("Postroom__Delivery__GiveUpAfterHours", "3d")
    monkeypatch.setenv("POSTROOM_PORT", "eighty")

    run = run_check(get_check("configuration"))

    assert run.status == "error"
    messages = [result.message for result in run.results]
    assert any("GiveUpAfterHours is '3d'" in message for message in messages)
    assert any("POSTROOM_PORT is 'eighty'" in message for message in messages)
    assert all(result.fix for result in run.results)


def test_the_configuration_health_check_passes_when_all_is_well():
    run = run_check(get_check("configuration"))

    assert run.status == "success"


def test_a_misspelt_environment_name_is_a_warning(monkeypatch, isolated_site):
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Prodcution")

    found = problem("POSTROOM_ENVIRONMENT")

    assert found.level == "warning"
    assert "neither Development nor Production" in found.message
    (isolated_site / "appsettings.Prodcution.json").write_text("{}")  # a custom environment
    assert [p for p in current_config().problems if p.key == "POSTROOM_ENVIRONMENT"] == []
