"""The Health screen, its JSON endpoint, actions, and Try settings."""

from __future__ import annotations

from html import unescape

import pytest
from django.test import Client

from postroom.delivery.models import Kind, OutboxMessage

pytestmark = pytest.mark.django_db

PASSWORD = "pa55-word-for-the-test"


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def test_the_health_screen_needs_a_login(client, administrator):
    response = client.get("/health/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_health_screen_lists_the_checks_by_group(admin_client):
    response = admin_client.get("/health/")

    html = response.content.decode()
    assert response.status_code == 200
    for group in ("Configuration", "Services", "Delivery", "Security"):
        assert f">{group}</h2>" in html
    assert "SMTP server" in html and "Not run" in html
    assert '<a href="/health/" aria-current="page">Health</a>' in html
    assert "Scheduled report" in html and "Postroom:HealthReport:PeriodHours" in html


def test_running_all_checks_shows_failing_steps_and_fixes(
    admin_client, configure_smtp, refused_port
):
    configure_smtp(host="127.0.0.1", port=refused_port, security="None")

    response = admin_client.post("/health/run/", follow=True)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="health-summary"' in html and "All checks:" in html
    assert 'data-step="connect"' in html
    assert "connection refused" in html
    assert "How to fix:" in html
    assert "No delivery worker is running" in html


def test_one_group_by_get(admin_client):
    response = admin_client.get("/health/run/", {"group": "security"})

    html = response.content.decode()
    assert "Security checks:" in html
    assert "The secret key is long" in html
    assert "No delivery worker is running" not in html  # the Delivery group did not run


def test_an_unknown_check_is_a_clear_message(admin_client):
    response = admin_client.post("/health/run/", {"check": "nope"})

    assert response.status_code == 400
    assert "There is no check “nope”" in response.content.decode()


def test_editors_may_run_checks_but_see_no_actions(editor_client):
    response = editor_client.post("/health/run/", {"check": "smtp"}, follow=True)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Send test email" not in html
    assert "Try SMTP settings" not in html


def test_editors_cannot_run_actions(editor_client):
    response = editor_client.post(
        "/health/actions/smtp/send-test-email/", {"to": "x@postroom.test"}
    )

    assert response.status_code == 403
    assert "Only administrators" in response.content.decode()
    assert not OutboxMessage.objects.exists()


def test_the_send_test_email_action_queues_through_the_outbox(admin_client):
    response = admin_client.post(
        "/health/actions/smtp/send-test-email/", {"to": "me@postroom.test"}
    )

    message = OutboxMessage.objects.get()
    assert message.kind == Kind.TEST
    assert message.to == "me@postroom.test"
    assert response.status_code == 302
    assert response["Location"] == f"/outbox/{message.pk}/"


def test_the_send_test_email_action_refuses_a_bad_address(admin_client):
    response = admin_client.post(
        "/health/actions/smtp/send-test-email/", {"to": "not-an-address"}, follow=True
    )

    assert "is not an email address" in response.content.decode()
    assert not OutboxMessage.objects.exists()


def test_the_json_endpoint_needs_a_login_and_answers_json(client, administrator):
    response = client.get("/health/checks.json", HTTP_ACCEPT="application/json")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "Log in" in response.json()["error"]


def test_a_browser_asking_for_the_json_is_sent_to_the_login(client, administrator):
    response = client.get("/health/checks.json", HTTP_ACCEPT="text/html,application/xhtml+xml")

    assert response.status_code == 302


def test_the_json_endpoint_lists_checks_and_results(editor_client):
    response = editor_client.get("/health/checks.json", {"group": "Delivery"})

    data = response.json()
    assert response.status_code == 200
    assert data["status"] == "error"
    assert {c["group"] for c in data["checks"]} == {"Delivery"}
    worker = next(c for c in data["checks"] if c["id"] == "delivery-worker")
    assert worker["results"][0]["status"] == "error"
    assert worker["results"][0]["fix"]


def test_the_help_page_describes_every_check(admin_client):
    html = admin_client.get("/health/help/").content.decode()

    assert 'id="smtp"' in html and 'id="security-config-files"' in html
    assert "postroom check" in html


# -- Try settings ------------------------------------------------------------------------------


def test_try_settings_is_for_administrators_only(editor_client):
    response = editor_client.get("/health/try/")

    assert response.status_code == 403
    assert "Only administrators" in response.content.decode()


def test_a_preset_fills_the_form_without_javascript(admin_client):
    html = admin_client.get("/health/try/", {"preset": "sendgrid"}).content.decode()

    assert 'value="smtp.sendgrid.net"' in html
    assert 'value="587"' in html
    assert 'value="apikey"' in html
    assert '<option value="StartTls" selected>' in html
    assert "API key with Mail Send" in html


@pytest.fixture
def try_login(admin_client, smtp_server, certificates, monkeypatch):
    """``try_login(password, **fields)`` posts the Try settings form for a server over
    STARTTLS that lets mailer in with PASSWORD; it answers the server and the response."""
    monkeypatch.setenv("Postroom__Smtp__CaFile", str(certificates.ca_file))
    server = smtp_server(
        tls_context=certificates.server_context(), username="mailer", password=PASSWORD
    )

    def post(password: str, **fields: str):
        form = {
            "host": server.host,
            "port": server.port,
            "security": "StartTls",
            "username": "mailer",
            "password": password,
            **fields,
        }
        return server, admin_client.post("/health/try/", form)

    return post


def test_working_settings_show_the_snippets_and_never_the_password(try_login, isolated_site):
    server, response = try_login(PASSWORD, from_address="website@postroom.test")

    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert "These settings work." in html
    assert "Logged in as mailer" in html
    assert f'<network host="127.0.0.1" port="{server.port}" enableSsl="true"' in html
    assert '"SecureSocketOptions": "StartTls"' in html
    assert '"From": "website@postroom.test"' in html
    assert "Umbraco__CMS__Global__Smtp__Password='<your password>'" in html
    assert PASSWORD not in html
    assert 'name="password"' in html and 'name="password" value' not in html
    assert list(isolated_site.iterdir()) == []  # nothing was saved


def test_failing_settings_say_why_and_show_no_snippets(try_login):
    _, response = try_login("the-wrong-one")

    html = response.content.decode()
    assert "These settings do not work yet." in html
    assert "rejected the login: 535" in html
    assert 'id="snippets"' not in html
    assert "the-wrong-one" not in html


def test_try_settings_reports_bad_input_next_to_the_field(admin_client):
    response = admin_client.post(
        "/health/try/",
        {"host": "smtp://mail.postroom.test:587", "port": "99999", "security": "Auto"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_host-errors"' in html and "without scheme or port" in html
    assert 'id="id_port-errors"' in html


def test_try_settings_is_post_with_csrf(administrator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(administrator)

    response = client.post("/health/try/", {"host": "127.0.0.1", "port": "25", "security": "None"})

    assert response.status_code == 403


def test_running_one_check_redirects_back_to_that_check(admin_client):
    response = admin_client.post("/health/run/", {"check": "security-secret-key"})

    assert response.status_code == 302
    expected = "/health/run/?check=security-secret-key#check-security-secret-key"
    assert response["Location"] == expected
    page = admin_client.get(response["Location"])
    assert 'id="check-security-secret-key"' in page.content.decode()


def test_the_checks_name_the_development_inbox_serve_started(admin_client):
    """Under `serve --inbox-port 2731` the checks, which run in threads of their own, speak of
    port 2731 as the dashboard does, not of the configured 2525."""
    from postroom.core.requests import INBOX_PORT_ENVIRON

    page = admin_client.get("/health/run/?check=smtp", **{INBOX_PORT_ENVIRON: 2731})
    html = page.content.decode()
    assert "development inbox at 127.0.0.1:2731" in html
    assert "127.0.0.1:2525" not in html
