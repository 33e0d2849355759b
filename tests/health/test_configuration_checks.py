"""Password reset and invitations need a way to send email."""

from __future__ import annotations

import pytest

from health.runs import results


@pytest.fixture
def reset_allowed(monkeypatch):
    monkeypatch.setenv("Umbraco__CMS__Security__AllowPasswordReset", "true")


def test_password_reset_off_is_the_default():
    status, found = results("password-reset")

    assert status == "info"
    assert found[0].message == "Password reset is off (default)."


def test_password_reset_on_without_smtp_in_production_is_an_error(production, reset_allowed):
    status, found = results("password-reset")

    assert status == "error"
    assert "email cannot be sent" in found[0].message
    assert "env:Umbraco__CMS__Security__AllowPasswordReset" in found[0].message


def test_password_reset_on_with_smtp_passes(production, reset_allowed, configure_smtp):
    configure_smtp(host="smtp.postroom.test", port=587)

    status, found = results("password-reset")

    assert status == "success"
    assert "smtp.postroom.test:587" in found[0].message


def test_a_misspelt_reset_setting_is_a_warning(monkeypatch):
    monkeypatch.setenv("Umbraco__CMS__Security__AllowPasswordReset", "yes please")

    status, found = results("password-reset")

    assert status == "warning"
    assert "AllowPasswordReset" in found[0].message


def test_invitations_without_smtp_or_relay_are_a_warning(production, monkeypatch):
    monkeypatch.delenv("POSTROOM_FALLBACK_SMTP_URL", raising=False)

    status, found = results("invitations")

    assert status == "warning"
    assert "passed on by hand" in found[0].message


def test_invitations_through_the_fallback_relay_pass(production, monkeypatch):
    monkeypatch.setenv("POSTROOM_FALLBACK_SMTP_URL", "smtp+starttls://u:secretpw@relay.test:587")

    status, found = results("invitations")

    assert status == "success"
    assert "relay.test:587" in found[0].message
    assert "secretpw" not in found[0].message


def test_invitations_through_site_smtp_pass(production, configure_smtp):
    configure_smtp(host="smtp.postroom.test", port=587)

    assert results("invitations")[0] == "success"
