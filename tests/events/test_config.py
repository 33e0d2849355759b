"""The events settings: each provider's secret is read from the configuration, never shown,
and a bad value is a reported problem that keeps the endpoint off."""

from __future__ import annotations

import json

import pytest

from postroom.config import current_config

SECRET = "a-generic-secret-of-some-length"


def test_secrets_are_kept_masked(monkeypatch, isolated_site):
    (isolated_site / "appsettings.json").write_text(
        json.dumps({"Postroom": {"Events": {"Generic": {"Secret": SECRET}}}})
    )

    config = current_config()

    assert config.events.generic_secret.value.reveal() == SECRET
    assert SECRET not in json.dumps(config.as_json())
    assert not [p for p in config.problems if p.section == "events"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Postroom__Events__Generic__Secret", "short"),
        ("Postroom__Events__SendGrid__PublicKey", "not base64 !!"),
        ("Postroom__Events__Ses__TopicArn", "my-topic"),
        ("Postroom__Events__BounceRateWarningPercent", "lots"),
    ],
)
def test_a_bad_value_is_a_problem_that_never_quotes_it(monkeypatch, key, value):
    monkeypatch.setenv(key, value)

    config = current_config()

    (problem,) = config.problems_of("events")
    assert problem.hint
    if "Secret" in key or "PublicKey" in key:
        assert value not in str(problem.as_json())


def test_an_unknown_events_key_is_a_warning(monkeypatch):
    monkeypatch.setenv("Postroom__Events__SendGridd__PublicKey", "x")
    monkeypatch.setenv("Postroom__Events__TolerancSeconds", "30")

    warnings = [p.key for p in current_config().warnings]

    assert "Postroom:Events:TolerancSeconds" in warnings


def test_a_sendgrid_key_pasted_as_pem_is_accepted(monkeypatch, sendgrid_keys):
    pem = f"-----BEGIN PUBLIC KEY-----\n{sendgrid_keys.public_b64}\n-----END PUBLIC KEY-----\n"
    monkeypatch.setenv("Postroom__Events__SendGrid__PublicKey", pem)

    value = current_config().events.sendgrid_public_key.value

    assert value.reveal() == sendgrid_keys.public_b64
