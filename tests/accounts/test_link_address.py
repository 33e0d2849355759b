"""Emailed links start with POSTROOM_BASE_URL; a Host header never makes its way into one."""

from __future__ import annotations

import pytest

from postroom.accounts.models import Invitation
from postroom.health.checks.configuration import link_address

from .conftest import link_in
from .test_invitations import invitation_email, invite
from .test_password_reset import ask, resets

pytestmark = pytest.mark.django_db


def test_production_without_a_base_url_refuses_to_send_links_and_says_how_to_fix_it(
    admin_client, visitor, editor, reset_enabled, monkeypatch
):
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")
    response = invite(admin_client)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The invitation was not sent" in page
    assert "Set POSTROOM_BASE_URL to the address people open Postroom at" in page
    assert not Invitation.objects.exists()
    assert b"Forgot password?" not in visitor.get("/login/").content
    assert ask(visitor).status_code == 503
    assert resets() == []


def test_the_configuration_check_explains_how_to_set_it(monkeypatch):
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")
    [result] = link_address()
    assert result.status == "error"
    assert "POSTROOM_BASE_URL=https://mail.example.com" in result.fix
    monkeypatch.setenv("POSTROOM_BASE_URL", "mail.example.com")
    assert "must start with https://" in link_address()[0].fix
    monkeypatch.setenv("POSTROOM_BASE_URL", "https://mail.example.com")
    assert link_address()[0].status == "success"


def test_the_base_url_wins_over_any_host_header(
    admin_client, visitor, editor, reset_enabled, monkeypatch
):
    monkeypatch.setenv("POSTROOM_BASE_URL", "https://cms.example.com")
    data = {"email": "new@example.com", "name": "Nora", "role": "editor", "message": ""}
    admin_client.post("/users/invite/", data, HTTP_HOST="localhost:6666")
    assert link_in(invitation_email(), "/invite/").startswith("https://cms.example.com/invite/")
    visitor.post("/password/forgot/", {"email": "editor@example.com"}, HTTP_HOST="127.0.0.1:9")
    assert link_in(resets()[0], "/password/reset/").startswith("https://cms.example.com/")


def test_in_development_a_forged_port_never_reaches_the_link(visitor, editor, reset_enabled):
    visitor.post(
        "/password/forgot/",
        {"email": "editor@example.com"},
        HTTP_HOST="localhost:6666",
        SERVER_PORT="8000",
    )
    link = link_in(resets()[0], "/password/reset/")
    assert link.startswith("http://localhost:8000/password/reset/")
    assert "6666" not in link


def test_in_development_an_unknown_host_is_refused(visitor, editor, reset_enabled):
    response = visitor.post(
        "/password/forgot/", {"email": "editor@example.com"}, HTTP_HOST="evil.example"
    )
    assert response.status_code == 400
    assert resets() == []


def test_a_wildcard_in_allowed_hosts_does_not_let_any_host_into_links(
    visitor, editor, reset_enabled, settings
):
    settings.ALLOWED_HOSTS = ["*"]
    visitor.post(
        "/password/forgot/",
        {"email": "editor@example.com"},
        HTTP_HOST="evil.example",
        SERVER_NAME="127.0.0.1",
        SERVER_PORT="8000",
    )
    link = link_in(resets()[0], "/password/reset/")
    assert link.startswith("http://127.0.0.1:8000/")
