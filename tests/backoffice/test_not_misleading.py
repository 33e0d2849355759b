"""Screens and commands say what really happened: invalid settings, where mail went, links."""

import json

import pytest
from django.core.management import CommandError, call_command

from postroom.delivery.models import DeliveryAttempt, OutboxMessage

pytestmark = pytest.mark.django_db


def invalid_port(site):
    smtp = {"From": "site@example.org", "Host": "127.0.0.1", "Port": "abc"}
    (site / "appsettings.json").write_text(
        json.dumps({"Umbraco": {"CMS": {"Global": {"Smtp": smtp}}}})
    )


def test_settings_test_email_with_invalid_settings_says_so_and_sends_nothing(
    admin_client, isolated_site
):
    invalid_port(isolated_site)
    response = admin_client.post("/settings/", {"to": "someone@example.net"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "No test email was sent" in html
    assert "Port" in html
    assert not OutboxMessage.objects.exists()


def test_settings_badge_says_invalid_not_not_configured(admin_client, isolated_site):
    invalid_port(isolated_site)
    html = admin_client.get("/settings/").content.decode()
    assert ">Invalid<" in html
    assert "Not configured" not in html


def test_health_action_refuses_a_test_email_with_invalid_settings(admin_client, isolated_site):
    invalid_port(isolated_site)
    response = admin_client.post(
        "/health/actions/smtp/send-test-email/", {"to": "someone@example.net"}, follow=True
    )
    assert "No test email was sent" in response.content.decode()
    assert not OutboxMessage.objects.exists()


def test_sendtest_with_invalid_settings_exits_non_zero_without_sending(isolated_site):
    invalid_port(isolated_site)
    with pytest.raises(CommandError, match="No test email was sent"):
        call_command("sendtest", "me@example.net")
    assert not OutboxMessage.objects.exists()


def test_a_delivered_message_names_where_it_went(admin_client):
    message = OutboxMessage.objects.create(
        to="a@example.net",
        subject="Hi",
        status="sent",
        last_reply="250 OK",
        raw=b"Subject: Hi\r\n\r\nx",
    )
    DeliveryAttempt.objects.create(
        message=message, transport="the development inbox at 127.0.0.1:2525", succeeded=True
    )
    html = admin_client.get(f"/outbox/{message.pk}/").content.decode()
    assert "Delivered to the development inbox at 127.0.0.1:2525." in html
