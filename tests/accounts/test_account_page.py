"""Your own account: change your name and password, see your sessions, sign out elsewhere."""

from __future__ import annotations

import pytest
from django.test import Client

from postroom.accounts.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
NEW = "a-brand-new-passphrase"


def signed_in(email="editor@example.com", agent="Firefox/140", address="192.0.2.7") -> Client:
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    response = client.post("/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_every_page_links_to_your_account_and_it_lists_your_sessions(editor):
    phone = signed_in(agent="Safari/17 iPhone", address="198.51.100.4")
    laptop = signed_in()
    assert 'href="/account/"' in laptop.get("/").content.decode()
    page = laptop.get("/account/").content.decode()
    assert "Your account" in page
    assert "Safari/17 iPhone" in page and "198.51.100.4" in page
    assert "Firefox/140" in page and "this session" in page
    assert "Sign out everywhere else (1)" in page
    assert phone.get("/account/").status_code == 200


def test_you_can_change_your_own_name(editor):
    client = signed_in()
    response = client.post("/account/name/", {"name": "  Eddie   Editor "})
    assert response.status_code == 302
    assert User.objects.get(pk=editor.pk).name == "Eddie Editor"


def test_changing_the_password_needs_the_current_one(editor):
    client = signed_in()
    wrong = client.post(
        "/account/password/",
        {"current_password": "not-it", "password": NEW, "password_again": NEW},
    )
    assert wrong.status_code == 400
    assert "This is not your current password" in wrong.content.decode()
    assert User.objects.get(pk=editor.pk).check_password(PASSWORD)


def test_changing_the_password_keeps_this_session_and_ends_the_others(editor):
    other = signed_in(agent="Old browser")
    client = signed_in()
    response = client.post(
        "/account/password/",
        {"current_password": PASSWORD, "password": NEW, "password_again": NEW},
        follow=True,
    )
    assert "Your password was changed and signed out of 1 other session." in (
        response.content.decode()
    )
    assert User.objects.get(pk=editor.pk).check_password(NEW)
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302  # back to the login page


def test_a_weak_new_password_is_refused_with_the_rule(editor):
    client = signed_in()
    response = client.post(
        "/account/password/",
        {"current_password": PASSWORD, "password": "short", "password_again": "short"},
    )
    assert response.status_code == 400
    assert "at least 10 characters" in response.content.decode()


def test_sign_out_everywhere_else(editor):
    other = signed_in(agent="Old browser")
    client = signed_in()
    response = client.post("/account/sessions/end/", follow=True)
    assert "Signed out of 1 other session." in response.content.decode()
    assert other.get("/").status_code == 302
    assert client.get("/").status_code == 200


def test_guessing_the_current_password_is_limited(editor):
    client = signed_in()
    for _ in range(10):
        client.post(
            "/account/password/",
            {"current_password": "guess", "password": NEW, "password_again": NEW},
        )
    blocked = client.post(
        "/account/password/",
        {"current_password": PASSWORD, "password": NEW, "password_again": NEW},
        follow=True,
    )
    assert "Too many wrong current passwords" in blocked.content.decode()
    assert User.objects.get(pk=editor.pk).check_password(PASSWORD)


def test_the_account_page_does_not_mark_users_as_the_current_screen(admin_client):
    html = admin_client.get("/account/").content.decode()
    assert 'aria-current="page">Users<' not in html
