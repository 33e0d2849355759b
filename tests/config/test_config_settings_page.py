"""The Settings page shows every section with origins, and every configuration problem."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-value"


def test_every_section_is_shown_with_origins_and_secrets_masked(admin_client, monkeypatch):
    monkeypatch.setenv("POSTROOM_SECRET_KEY", SECRET)
    monkeypatch.setenv("Postroom__Alerts__WebhookUrl", f"https://hooks.example.com/{SECRET}")
    monkeypatch.setenv("Postroom__Delivery__KeepLogDays", "90")

    html = admin_client.get("/settings/").content.decode()

    for key in (
        "Postroom:Delivery:KeepLogDays",
        "Postroom:Alerts:WebhookUrl",
        "Umbraco:CMS:Security:AllowPasswordReset",
        "Postroom:Health:TimeoutSeconds",
        "POSTROOM_LEASE_SECONDS",
        "POSTROOM_SECRET_KEY",
    ):
        assert key in html
    assert "env:Postroom__Delivery__KeepLogDays" in html
    assert "********" in html
    assert SECRET not in html


def test_a_problem_of_any_section_is_shown_with_its_fix(admin_client, monkeypatch):
    monkeypatch.setenv("Postroom__Delivery__GiveUpAfterHours", "3d")
    monkeypatch.setenv("Postroom__Alerts__WebhookUrl", f"hooks.example.com/{SECRET}")

    html = admin_client.get("/settings/").content.decode()

    assert "banner-error" in html
    assert "Postroom__Delivery__GiveUpAfterHours is &#x27;3d&#x27;" in html
    assert "72 for three days" in html
    assert "alerts are not posted to it" in html
    assert SECRET not in html


def test_the_dashboard_says_the_configuration_has_errors(admin_client, monkeypatch):
    monkeypatch.setenv("POSTROOM_TRUSTED_PROXY", "proxy.internal")

    html = admin_client.get("/").content.decode()

    assert "The configuration has 1 error." in html
    assert "POSTROOM_TRUSTED_PROXY is &#x27;proxy.internal&#x27;" in html
