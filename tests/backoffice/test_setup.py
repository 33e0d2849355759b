"""First run: with no user, the backoffice asks for the first administrator."""

import pytest
from django.urls import reverse

from postroom.accounts.models import User

pytestmark = pytest.mark.django_db


def test_every_page_leads_to_setup_while_no_user_exists(client):
    for url in ["/", "/settings/", "/inbox/", "/login/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:setup")


def test_setup_creates_an_administrator_and_logs_in(client):
    response = client.post(
        "/setup/",
        {
            "name": "Ada",
            "email": "Ada@Example.com",
            "password": "a-long-passphrase",
            "password_again": "a-long-passphrase",
        },
    )
    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "ada@example.com"
    assert user.is_administrator
    assert user.check_password("a-long-passphrase")
    assert client.get("/").status_code == 200


def test_setup_explains_bad_input_and_keeps_what_was_typed(client):
    response = client.post(
        "/setup/",
        {"email": "ada@example.com", "password": "short", "password_again": "short"},
    )
    assert response.status_code == 200
    assert b"at least 10 characters" in response.content
    assert b'value="ada@example.com"' in response.content
    assert not User.objects.exists()


def test_mismatched_passwords_are_refused(client):
    response = client.post(
        "/setup/",
        {
            "email": "ada@example.com",
            "password": "a-long-passphrase",
            "password_again": "other-one!",
        },
    )
    assert b"The two passwords differ" in response.content
    assert not User.objects.exists()


def test_setup_is_closed_once_an_administrator_exists(client, administrator):
    response = client.get("/setup/")
    assert response.status_code == 302
    client.post(
        "/setup/",
        {
            "email": "intruder@example.com",
            "password": "a-long-passphrase",
            "password_again": "a-long-passphrase",
        },
    )
    assert not User.objects.filter(email="intruder@example.com").exists()


def test_a_password_chosen_with_spaces_at_its_ends_logs_in_as_typed(client):
    """Login never strips a password, so setup must not either."""
    typed = "  a-long-passphrase "
    client.post(
        "/setup/",
        {"email": "ada@example.com", "password": typed, "password_again": typed},
    )
    user = User.objects.get()
    assert user.check_password(typed)
    client.logout()
    response = client.post("/login/", {"username": "ada@example.com", "password": typed})
    assert response.status_code == 302
