"""The Applications screen: administrators only; the secret is shown once and never again."""

from __future__ import annotations

import pytest

from postroom.applications import credentials
from postroom.applications.models import Application, ApplicationSecret

pytestmark = pytest.mark.django_db

NEW = {
    "name": "Shop",
    "allowed_senders": "example.org\nnews@other.net",
    "client_networks": "",
    "rate_limit_per_minute": "",
}


def test_editors_and_visitors_may_not_open_it(client, editor):
    assert client.get("/applications/").status_code == 302
    client.force_login(editor)
    for path in ("/applications/", "/applications/new/"):
        assert client.get(path).status_code == 403


def test_create_shows_the_secret_once(admin_client):
    response = admin_client.post("/applications/new/", NEW)
    assert response.status_code == 200
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    )
    page = response.content.decode()
    application = Application.objects.get()
    assert application.allowed_senders == ["example.org", "news@other.net"]
    secret = page.split('id="app-secret" class="mono" value="', 1)[1].split('"', 1)[0]
    assert credentials.authenticate(application.username, secret) == application
    assert application.username in page and 'userName="app_shop"' in page
    for path in ("/applications/", f"/applications/{application.pk}/"):
        assert secret not in admin_client.get(path).content.decode()
    assert secret not in str(admin_client.session.items())


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"allowed_senders": "not a domain"}, "neither a domain"),
        ({"allowed_senders": ""}, "required"),
        ({"client_networks": "10.0.0.0/99"}, "not an IP address"),
        ({"rate_limit_per_minute": "0"}, "greater than or equal to 1"),
    ],
)
def test_create_explains_bad_values(admin_client, change, error):
    response = admin_client.post("/applications/new/", {**NEW, **change})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Application.objects.exists()


def test_list_and_detail_show_the_application(admin_client):
    application, _ = credentials.create_application("Shop", ["example.org"])
    listing = admin_client.get("/applications/").content.decode()
    assert "Shop" in listing and "app_shop" in listing and "example.org" in listing
    detail = admin_client.get(f"/applications/{application.pk}/").content.decode()
    lookup = ApplicationSecret.objects.get().lookup
    assert f"pr_{lookup}_" in detail


def test_edit_settings(admin_client):
    application, _ = credentials.create_application("Shop", ["example.org"])
    response = admin_client.post(
        f"/applications/{application.pk}/",
        {**NEW, "allowed_senders": "shop.example", "client_networks": "10.0.0.1",
         "trusted_network_no_login": "on", "rate_limit_per_minute": "30"},
    )  # fmt: skip
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.allowed_senders == ["shop.example"]
    assert application.client_networks == ["10.0.0.1/32"]
    assert application.trusted_network_no_login and application.rate_limit_per_minute == 30


def test_disable_and_enable(admin_client):
    application, secret = credentials.create_application("Shop", ["example.org"])
    admin_client.post(f"/applications/{application.pk}/enabled/", {"enabled": "0"})
    assert credentials.authenticate_bearer(secret) is None
    admin_client.post(f"/applications/{application.pk}/enabled/", {"enabled": "1"})
    assert credentials.authenticate_bearer(secret) == application


def test_rotate_with_grace_shows_the_new_secret(admin_client):
    application, old = credentials.create_application("Shop", ["example.org"])
    response = admin_client.post(f"/applications/{application.pk}/rotate/", {"grace": "3600"})
    page = response.content.decode()
    new = page.split('id="app-secret" class="mono" value="', 1)[1].split('"', 1)[0]
    assert new != old
    assert credentials.authenticate_bearer(new) == application
    assert credentials.authenticate_bearer(old) == application  # for an hour
    admin_client.post(f"/applications/{application.pk}/rotate/", {"grace": "0"})
    assert credentials.authenticate_bearer(old) is None
    assert credentials.authenticate_bearer(new) is None


def test_rotate_needs_post(admin_client):
    application, _ = credentials.create_application("Shop", ["example.org"])
    assert admin_client.get(f"/applications/{application.pk}/rotate/").status_code == 405


def test_delete_asks_first(admin_client):
    application, _ = credentials.create_application("Shop", ["example.org"])
    assert admin_client.get(f"/applications/{application.pk}/delete/").status_code == 200
    assert Application.objects.exists()
    admin_client.post(f"/applications/{application.pk}/delete/")
    assert not Application.objects.exists()


def test_the_navigation_shows_applications_to_administrators_only(admin_client, client, editor):
    assert 'href="/applications/"' in admin_client.get("/").content.decode()
    client.force_login(editor)
    assert 'href="/applications/"' not in client.get("/").content.decode()
