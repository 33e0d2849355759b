"""The invitation and reset emails: previews, site name, settings for their lifetime."""

from __future__ import annotations

from datetime import timedelta

import pytest

from postroom.accounts import config
from postroom.accounts.config import parse_timespan

pytestmark = pytest.mark.django_db


def test_the_preview_page_shows_both_emails_in_a_sandboxed_frame(admin_client):
    page = admin_client.get("/users/emails/").content.decode()
    assert "You are invited to Postroom" in page
    assert (
        '<iframe class="mail-html" sandbox="allow-same-origin" data-fit-content '
        'src="/users/emails/invitation/html/"' in page
    )
    text = admin_client.get("/users/emails/?email=password_reset&view=text").content.decode()
    assert "Reset your Postroom password" in text
    assert "works for one hour, and only once" in text
    assert "Password reset is switched off" in text


def test_the_frame_content_cannot_run_scripts(admin_client, monkeypatch):
    monkeypatch.setenv("Postroom__SiteName", "<script>alert(1)</script>")
    response = admin_client.get("/users/emails/invitation/html/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert b"<script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content
    assert admin_client.get("/users/emails/other/html/").status_code == 404


def test_the_site_name_comes_from_the_setting(admin_client, monkeypatch):
    monkeypatch.setenv("Postroom__SiteName", "Acme Intranet")
    page = admin_client.get("/users/emails/?view=text").content.decode()
    assert "You are invited to Acme Intranet" in page


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.00:00:00", timedelta(days=3)),
        ("72:00:00", timedelta(hours=72)),
        ("1.12:30:00", timedelta(days=1, hours=12, minutes=30)),
        ("02:00", timedelta(hours=2)),
        ("7", timedelta(days=7)),
        ("00:00:30.5", timedelta(seconds=30)),
        ("three days", None),
        ("1:75:00", None),
        ("", None),
    ],
)
def test_dotnet_time_spans(text, expected):
    assert parse_timespan(text) == expected


def test_the_invitation_lifetime_settings(monkeypatch, caplog):
    assert config.invite_expiry() == (timedelta(hours=72), "default")
    monkeypatch.setenv("Umbraco__CMS__Security__UserInviteEmailExpiry", "2.00:00:00")
    assert config.invite_expiry()[0] == timedelta(days=2)
    monkeypatch.setenv("Postroom__Security__UserInviteExpiryHours", "24")
    assert config.invite_expiry()[0] == timedelta(hours=24)
    monkeypatch.delenv("Postroom__Security__UserInviteExpiryHours")
    monkeypatch.setenv("Umbraco__CMS__Security__UserInviteEmailExpiry", "soon")
    assert config.invite_expiry() == (timedelta(hours=72), "default")
    assert "UserInviteEmailExpiry is 'soon'" in caplog.text


def test_the_email_says_how_long_the_link_works(admin_client, monkeypatch):
    monkeypatch.setenv("Umbraco__CMS__Security__UserInviteEmailExpiry", "7.00:00:00")
    page = admin_client.get("/users/emails/?view=text").content.decode()
    assert "The link works for 7 days after this email was sent" in page
