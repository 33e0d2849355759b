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


def test_the_dashboard_failure_banner_and_counters_link_to_the_filtered_log(admin_client):
    OutboxMessage.objects.create(to="a@example.net", subject="Lost", status="failed")
    html = admin_client.get("/").content.decode()
    assert "Open one below" not in html
    assert 'href="/outbox/?status=failed&amp;period=24h" id="failed-link"' in html
    for status in ("queued", "sent", "failed"):
        assert f'href="/outbox/?status={status}&amp;period=24h"' in html
    assert 'href="/outbox/?status=held"' in html
    listed = admin_client.get("/outbox/?status=failed&period=24h").content.decode()
    assert "Lost" in listed


def test_an_editors_dashboard_does_not_send_them_to_the_inbox(client, editor):
    client.force_login(editor)
    html = client.get("/").content.decode()
    assert "/inbox/" not in html
    assert client.get("/inbox/").status_code == 403


def test_in_production_the_inbox_says_the_catcher_is_off(admin_client, monkeypatch):
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")
    html = admin_client.get("/inbox/").content.decode()
    assert "The development inbox is off." in html
    assert "Mail caught by the development inbox on SMTP" not in html


def test_in_development_the_inbox_does_not_say_it_is_off(admin_client):
    html = admin_client.get("/inbox/").content.decode()
    assert "The development inbox is off." not in html


def test_a_message_waiting_for_its_next_retry_says_when_and_which_attempt(admin_client):
    from datetime import UTC, datetime, timedelta

    later = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=7)
    message = OutboxMessage.objects.create(
        to="a@example.net",
        subject="Hi",
        status="queued",
        attempt_count=2,
        next_attempt_at=later,
        last_reply="451 try later",
        raw=b"Subject: Hi\r\n\r\nx",
    )
    html = admin_client.get(f"/outbox/{message.pk}/").content.decode()
    assert f'Retrying at <time datetime="{later.isoformat()}" data-format="time">' in html
    assert f"{later:%H:%M} UTC</time> (attempt 3)." in html
    assert "Waiting for the delivery worker" not in html
    assert 'data-confirm="Retry this message now' in html


def test_settings_page_names_keys_as_people_write_them_and_shows_invalid(
    admin_client, isolated_site
):
    invalid_port(isolated_site)
    html = admin_client.get("/settings/").content.decode()
    assert "<code>SecureSocketOptions</code>" in html
    assert "<code>secure_socket_options</code>" not in html
    port = html.split('id="smtp-Port"', 1)[1].split("</div>", 1)[0]
    assert ">invalid<" in port and "not set" not in port
    assert "(Port)" in html and "(port)" not in html


def test_the_message_detail_lists_attachments_to_download(admin_client):
    from django.core.mail import EmailMessage

    from postroom.delivery.enqueue import enqueue

    mail = EmailMessage("Report", "See attached.", to=["a@example.net"])
    mail.attach("report.csv", "a,b\n1,2\n", "text/csv")
    queued = enqueue(mail)
    html = admin_client.get(f"/outbox/{queued.pk}/?tab=text").content.decode()
    assert 'id="attachments"' in html
    assert f'href="/outbox/{queued.pk}/attachments/0/" download>report.csv</a>' in html
    download = admin_client.get(f"/outbox/{queued.pk}/attachments/0/")
    assert download.status_code == 200
    body = b"".join(download.streaming_content if download.streaming else [download.content])
    assert body.replace(b"\r\n", b"\n") == b"a,b\n1,2\n"  # text parts travel with CRLF
    assert admin_client.get(f"/outbox/{queued.pk}/attachments/5/").status_code == 404


def test_the_email_log_has_a_from_column_and_date_pickers(admin_client):
    OutboxMessage.objects.create(sender="shop@example.org", to="a@example.net", subject="Hi")
    html = admin_client.get("/outbox/").content.decode()
    assert "<th>From</th>" in html
    assert "<td>shop@example.org</td>" in html
    assert 'type="date"' in html
    assert "Created on or after (UTC)" in html and "Created on or before (UTC)" in html
    assert "data-needs-selection" in html


def test_a_missing_value_is_not_set_rather_than_invalid(admin_client, isolated_site):
    smtp = {"Host": "smtp.example.org"}  # no From: an error, but From was never given
    (isolated_site / "appsettings.json").write_text(
        json.dumps({"Umbraco": {"CMS": {"Global": {"Smtp": smtp}}}})
    )
    html = admin_client.get("/settings/").content.decode()
    from_row = html.split('id="smtp-From"', 1)[1].split("</div>", 1)[0]
    assert "not set" in from_row and "invalid" not in from_row
