"""The hosting fallback relay carries invitations only; nothing else ever uses it."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMessage

from postroom.accounts.models import Invitation
from postroom.delivery import worker
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import OutboxMessage

from .conftest import link_in, local, smtp_settings, write_appsettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def relay(smtp_server, monkeypatch, certificates):
    """Production, no SMTP settings for the site, and a hosting relay that needs a login.

    smtp:// logs in only over STARTTLS, so the relay offers it with a certificate whose CA
    this process trusts (SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))
    server = smtp_server(
        tls_context=certificates.server_context(), username="relay-user", password="relay-pass"
    )
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")
    monkeypatch.setenv("POSTROOM_BASE_URL", "https://postroom.example")
    monkeypatch.setenv(
        "POSTROOM_FALLBACK_SMTP_URL", f"smtp://relay-user:relay-pass@127.0.0.1:{server.port}"
    )
    return server


def test_invitations_arrive_through_the_relay_and_nothing_else_does(
    relay, admin_client, visitor, reset_enabled, editor
):
    form = enqueue(EmailMessage("New entry", "Body", to=["owner@example.com"]), kind="form")

    listing = admin_client.get("/users/invitations/").content.decode()
    assert "Invitations go out through the fallback relay" in listing
    response = admin_client.post(
        "/users/invite/", {"email": "new@example.com", "name": "Nora", "role": "editor"}
    )
    assert response.status_code == 302
    invite = OutboxMessage.objects.get(kind="invite")
    assert invite.channel == "fallback"

    # A password reset is switched on, but the site cannot send: not offered, not sent.
    assert b"Forgot password?" not in visitor.get("/login/").content
    refused = visitor.post("/password/forgot/", {"email": "editor@example.com"})
    assert refused.status_code == 503
    assert b"cannot send email yet" in refused.content
    assert not OutboxMessage.objects.filter(kind="password_reset").exists()

    worker.run_once()
    invite.refresh_from_db()
    form.refresh_from_db()
    assert invite.status == "sent"
    assert form.status == "held"
    assert [m.rcpt_tos for m in relay.messages] == [("new@example.com",)]
    assert relay.messages[0].login == "relay-user"
    assert b"You are invited to Postroom" in relay.messages[0].raw


def test_with_site_smtp_invitations_use_the_site_server_not_the_relay(
    relay, smtp_server, admin_client, isolated_site
):
    site = smtp_server()
    write_appsettings(isolated_site, Umbraco=smtp_settings(site.port))
    admin_client.post("/users/invite/", {"email": "new@example.com", "role": "editor"})
    assert OutboxMessage.objects.get(kind="invite").channel == "site"
    worker.run_once()
    assert len(site.messages) == 1
    assert relay.messages == []


def test_without_smtp_or_relay_the_link_is_shown_and_the_email_is_held(
    production, admin_client, visitor, smtp_server, isolated_site
):
    banner = admin_client.get("/users/invite/").content.decode()
    assert "Invitation emails cannot be sent right now" in banner

    response = admin_client.post(
        "/users/invite/", {"email": "new@example.com", "name": "Nora", "role": "editor"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Invitation sent, email held" in page
    assert "Pass the link on yourself" in page
    assert "no-store" in response["Cache-Control"]
    invitation = Invitation.objects.get()
    row = OutboxMessage.objects.get(kind="invite")
    shown = page.split('id="invite-link" class="mono" value="', 1)[1].split('"', 1)[0]
    assert shown == link_in(row, "/invite/")
    assert visitor.get(local(shown)).status_code == 200

    worker.run_once()
    row.refresh_from_db()
    assert row.status == "held"

    # Settings appear: the held invitation goes out, and its link is valid from then on.
    server = smtp_server()
    write_appsettings(isolated_site, Umbraco=smtp_settings(server.port))
    worker.run_once()
    row.refresh_from_db()
    assert row.status == "sent"
    assert len(server.messages) == 1
    assert invitation.pk == Invitation.objects.get().pk


def test_in_development_invitations_go_to_the_development_inbox(admin_client):
    admin_client.post("/users/invite/", {"email": "new@example.com", "role": "editor"})
    row = OutboxMessage.objects.get(kind="invite")
    assert row.channel == "fallback"
    listing = admin_client.get("/users/invitations/").content.decode()
    assert "the development inbox" in listing
