"""Logging in and out of the backoffice."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_the_login_page(client, administrator):
    response = client.get("/settings/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/settings/")


def test_login_with_the_email_address(client, administrator):
    response = client.post(
        "/login/", {"username": "admin@example.com", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused_with_a_message(client, administrator):
    response = client.post("/login/", {"username": "admin@example.com", "password": "nope"})
    assert response.status_code == 200
    assert b"enter a correct email address and password" in response.content
    assert client.get("/").status_code == 302


def test_logout_is_a_post_and_ends_the_session(admin_client):
    assert admin_client.get("/").status_code == 200
    admin_client.post("/logout/")
    assert admin_client.get("/").status_code == 302


def test_forms_are_protected_against_cross_site_requests(administrator):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/login/", {"username": "admin@example.com", "password": "correct-horse-battery"}
    )
    assert response.status_code == 403
    client.force_login(administrator)
    assert client.post("/settings/", {"to": "x@example.com"}).status_code == 403
    assert client.post("/logout/").status_code == 403


def test_every_post_form_on_the_pages_carries_a_csrf_token(admin_client):
    for url in ["/", "/settings/", "/inbox/", "/outbox/"]:
        html = admin_client.get(url).content.decode().lower()
        post_forms = html.count('<form method="post"')
        assert post_forms == html.count("csrfmiddlewaretoken"), url
        # Every other form is a GET (a search) or closes a dialog; none posts without a token.
        others = html.count('<form method="get"') + html.count('<form method="dialog"')
        assert html.count("<form") == post_forms + others, url
