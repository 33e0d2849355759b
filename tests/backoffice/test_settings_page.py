"""The Settings page: effective settings with origins, errors shown, and a test email."""

import pytest

from postroom.delivery.models import OutboxMessage

pytestmark = pytest.mark.django_db

WEB_CONFIG = """<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <system.net>
    <mailSettings>
      <smtp from="site@example.org">
        <network host="smtp.example.org" port="587" userName="mailer"
                 password="s3cret-Pa55" enableSsl="true" />
      </smtp>
    </mailSettings>
  </system.net>
</configuration>
"""


def test_settings_show_values_with_their_origin_and_never_the_password(
    admin_client, isolated_site, monkeypatch
):
    (isolated_site / "web.config").write_text(WEB_CONFIG)
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__Port", "2587")
    html = admin_client.get("/settings/").content.decode()
    assert "smtp.example.org" in html
    assert "web.config:6" in html  # the <network> element
    assert "2587" in html
    assert "env:Umbraco__CMS__Global__Smtp__Port" in html
    assert "********" in html
    assert "s3cret-Pa55" not in html


def test_a_broken_configuration_is_shown_not_crashed(admin_client, isolated_site):
    (isolated_site / "appsettings.json").write_text(
        '{"Umbraco": {"CMS": {"Global": {"Smtp": {"Port": "x"'
    )
    response = admin_client.get("/settings/")
    assert response.status_code == 200
    assert "appsettings.json" in response.content.decode()
    assert "banner-error" in response.content.decode()
    assert admin_client.get("/").status_code == 200


def test_the_page_explains_where_settings_come_from(admin_client, isolated_site):
    html = admin_client.get("/settings/").content.decode()
    assert str(isolated_site) in html
    assert "Umbraco__CMS__Global__Smtp__Password" in html
    assert "appsettings.Development.json" in html


def test_send_test_email_queues_it_and_shows_its_progress(admin_client):
    response = admin_client.post("/settings/", {"to": "someone@example.net"})
    message = OutboxMessage.objects.get()
    assert message.kind == "test"
    assert message.to == "someone@example.net"
    assert response["Location"] == f"/outbox/{message.pk}/"
    page = admin_client.get(response["Location"]).content.decode()
    assert "Waiting for the delivery worker" in page


def test_a_bad_test_address_is_explained(admin_client):
    response = admin_client.post("/settings/", {"to": "not an address"})
    assert response.status_code == 200
    assert "Enter a valid email address" in response.content.decode()
    assert not OutboxMessage.objects.exists()


def test_editors_cannot_send_test_emails(client, editor):
    client.force_login(editor)
    client.post("/settings/", {"to": "someone@example.net"})
    assert not OutboxMessage.objects.exists()


def test_editors_never_see_the_settings(client, editor, isolated_site):
    (isolated_site / "web.config").write_text(WEB_CONFIG)
    client.force_login(editor)
    refused = client.get("/settings/")
    assert refused.status_code == 403
    assert b"smtp.example.org" not in refused.content
    assert b"Only administrators can see the settings" in refused.content
    dashboard = client.get("/").content.decode()
    assert 'href="/settings/"' not in dashboard


def test_administrators_find_the_settings_in_the_navigation(admin_client):
    assert 'href="/settings/"' in admin_client.get("/").content.decode()


def test_the_backup_connection_is_shown_with_origins_and_never_its_password(
    admin_client, isolated_site, monkeypatch
):
    (isolated_site / "appsettings.json").write_text(
        '{"Postroom": {"Smtp": {"Backup": {\n"Host": "smtp.backup.example", "Port": 2465}}}}'
    )
    monkeypatch.setenv("Postroom__Smtp__Backup__Password", "backup-Pa55word")
    html = admin_client.get("/settings/").content.decode()
    assert "Backup SMTP connection" in html
    assert "smtp.backup.example" in html and "appsettings.json:2" in html
    assert "env:Postroom__Smtp__Backup__Password" in html
    assert "backup-Pa55word" not in html


def test_the_development_inbox_named_is_the_one_serve_started(admin_client, isolated_site):
    from postroom.core.requests import INBOX_PORT_ENVIRON

    html = admin_client.get("/settings/", **{INBOX_PORT_ENVIRON: 2731}).content.decode()
    assert "development inbox at 127.0.0.1:2731" in html
    assert "development inbox at 127.0.0.1:2525" not in html
