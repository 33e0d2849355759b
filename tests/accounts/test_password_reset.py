"""Resetting a forgotten password: off by default; single-use links; limits; sessions end."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from postroom.accounts.models import PasswordReset
from postroom.delivery.models import OutboxMessage

from .conftest import NEW_PASSWORD, PASSWORD, link_in, local, parsed, text_of

pytestmark = pytest.mark.django_db


def resets() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind="password_reset").order_by("id"))


def ask(visitor, email="editor@example.com", address="192.0.2.10"):
    return visitor.post("/password/forgot/", {"email": email}, REMOTE_ADDR=address)


def choose(visitor, link, password=NEW_PASSWORD):
    return visitor.post(local(link), {"password": password, "password_again": password})


# Switched off (the default) ------------------------------------------------------------------


def test_by_default_the_login_page_offers_no_reset(visitor, editor):
    page = visitor.get("/login/").content.decode()
    assert "Forgot password?" not in page


@pytest.mark.parametrize(
    "url", ["/password/forgot/", "/password/forgot/sent/", "/password/reset/x/"]
)
def test_by_default_the_reset_pages_answer_404_with_a_plain_page(visitor, editor, url):
    for response in (visitor.get(url), visitor.post(url, {"email": "editor@example.com"})):
        assert response.status_code == 404
        assert b"Password reset is switched off" in response.content
        assert b"Ask an administrator for help" in response.content
    assert resets() == []


def test_a_link_stops_working_when_reset_is_switched_off(visitor, editor, monkeypatch):
    monkeypatch.setenv("Umbraco__CMS__Security__AllowPasswordReset", "true")
    ask(visitor)
    link = link_in(resets()[0], "/password/reset/")
    monkeypatch.setenv("Umbraco__CMS__Security__AllowPasswordReset", "false")
    assert visitor.get(local(link)).status_code == 404
    assert choose(visitor, link).status_code == 404


def test_the_setting_can_come_from_appsettings(visitor, editor, isolated_site):
    from .conftest import write_appsettings

    write_appsettings(isolated_site, Umbraco={"CMS": {"Security": {"AllowPasswordReset": True}}})
    assert b"Forgot password?" in visitor.get("/login/").content


# Switched on ---------------------------------------------------------------------------------


def test_when_switched_on_the_login_page_links_to_the_reset_page(visitor, editor, reset_enabled):
    page = visitor.get("/login/").content.decode()
    assert 'href="/password/forgot/"' in page and "Forgot password?" in page
    assert visitor.get("/password/forgot/").status_code == 200


def test_a_reset_email_holds_a_link_for_one_hour_with_an_expires_header(
    visitor, editor, reset_enabled
):
    response = ask(visitor)
    assert response.status_code == 302
    assert response["Location"] == "/password/forgot/sent/"
    (row,) = resets()
    assert row.channel == "site" and row.to == "editor@example.com"
    assert row.subject == "Reset your Postroom password"
    expires = parsedate_to_datetime(parsed(row)["Expires"])
    assert abs(expires - (timezone.now() + timedelta(hours=1))) < timedelta(minutes=1)
    assert parsed(row)["Expires"].endswith("+0000")
    assert "works for one hour, and only once" in text_of(row)
    assert link_in(row, "/password/reset/").startswith("http://testserver/password/reset/")


def test_the_answer_is_the_same_whether_or_not_the_account_exists(visitor, editor, reset_enabled):
    known = ask(visitor, "editor@example.com")
    unknown = ask(visitor, "nobody@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    page = visitor.get(known["Location"]).content.decode()
    assert "If the address you typed belongs to an account" in page
    assert [row.to for row in resets()] == ["editor@example.com"]


def test_disabled_accounts_get_no_reset_email(visitor, editor, reset_enabled):
    editor.is_active = False
    editor.save()
    assert ask(visitor).status_code == 302
    assert resets() == []


def test_opening_the_link_uses_nothing_up_and_setting_the_password_does(
    visitor, editor, reset_enabled
):
    ask(visitor)
    link = link_in(resets()[0], "/password/reset/")
    for _ in range(3):
        page = visitor.get(local(link))
        assert page.status_code == 200
        assert b"Choose a new password" in page.content
        assert "no-store" in page["Cache-Control"]
    response = choose(visitor, link)
    assert response.status_code == 302
    assert response["Location"] == "/login/?email=editor%40example.com"
    editor.refresh_from_db()
    assert editor.check_password(NEW_PASSWORD)
    assert b"Your password was changed" in visitor.get(response["Location"]).content

    again = visitor.get(local(link))
    assert again.status_code == 410
    assert b"already used" in again.content
    assert choose(visitor, link, password="yet-another-passphrase").status_code == 410
    editor.refresh_from_db()
    assert editor.check_password(NEW_PASSWORD)


def test_a_reset_uses_up_every_other_link_of_the_account(visitor, editor, reset_enabled):
    ask(visitor)
    ask(visitor)
    first, second = (link_in(row, "/password/reset/") for row in resets())
    choose(visitor, second)
    assert visitor.get(local(first)).status_code == 410


def test_an_expired_link_offers_a_new_one(visitor, editor, reset_enabled):
    ask(visitor)
    link = link_in(resets()[0], "/password/reset/")
    PasswordReset.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = visitor.get(local(link))
    assert response.status_code == 410
    assert b"This password reset link has expired" in response.content
    assert b'href="/password/forgot/"' in response.content
    assert choose(visitor, link).status_code == 410
    editor.refresh_from_db()
    assert editor.check_password(PASSWORD)


def test_the_password_rules_apply(visitor, editor, reset_enabled):
    ask(visitor)
    link = link_in(resets()[0], "/password/reset/")
    response = choose(visitor, link, password="password123")
    assert response.status_code == 200
    assert b"too common" in response.content
    assert PasswordReset.objects.get().used_at is None


def test_a_reset_ends_every_session_of_the_user(visitor, editor, reset_enabled):
    from postroom.accounts.models import User

    laptop, phone, other = Client(), Client(), Client()
    laptop.force_login(editor)
    phone.force_login(editor)
    other.force_login(User.objects.create_superuser("boss@example.com", PASSWORD))
    assert laptop.get("/").status_code == 200

    ask(visitor)
    choose(visitor, link_in(resets()[0], "/password/reset/"))
    assert laptop.get("/").status_code == 302
    assert phone.get("/").status_code == 302
    assert other.get("/").status_code == 200
    remaining = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
    assert str(editor.pk) not in remaining


def test_a_reset_lifts_a_login_lockout(visitor, editor, reset_enabled):
    for _ in range(5):
        visitor.post("/login/", {"username": "editor@example.com", "password": "wrong-wrong"})
    locked = visitor.post("/login/", {"username": "editor@example.com", "password": PASSWORD})
    assert b"temporarily locked" in locked.content
    ask(visitor)
    choose(visitor, link_in(resets()[0], "/password/reset/"))
    response = visitor.post("/login/", {"username": "editor@example.com", "password": NEW_PASSWORD})
    assert response.status_code == 302


# Limits --------------------------------------------------------------------------------------


def test_at_most_three_emails_per_hour_go_to_one_account(visitor, editor, reset_enabled):
    for number in range(5):
        response = ask(visitor, address=f"192.0.2.{number}")
        assert response.status_code == 302  # the same answer every time
    assert len(resets()) == 3


def test_one_client_address_may_ask_five_times_an_hour(visitor, editor, reset_enabled):
    for number in range(5):
        assert ask(visitor, f"person{number}@example.com").status_code == 302
    refused = ask(visitor, "editor@example.com")
    assert refused.status_code == 429
    assert b"Too many password reset requests came from your network" in refused.content
    assert resets() == []
    assert ask(visitor, "editor@example.com", address="198.51.100.7").status_code == 302
    assert len(resets()) == 1


def test_the_limits_can_be_set(visitor, editor, reset_enabled, monkeypatch):
    monkeypatch.setenv("Postroom__Security__PasswordResetsPerHourPerAccount", "1")
    ask(visitor, address="192.0.2.1")
    ask(visitor, address="192.0.2.2")
    assert len(resets()) == 1


def test_old_counts_are_forgotten(visitor, editor, reset_enabled):
    from django.db.models import F

    from postroom.core.models import RateCounter

    for number in range(3):
        ask(visitor, address=f"192.0.2.{number}")
    hour = 61 * 60 * 1000  # as if they were asked for an hour ago
    RateCounter.objects.update(expires_at_ms=F("expires_at_ms") - hour)
    ask(visitor)
    assert len(resets()) == 4


# Switched on, but no way to send ---------------------------------------------------------------


def test_switched_on_without_email_the_link_is_hidden_and_the_pages_refuse(
    visitor, editor, reset_enabled, production
):
    assert b"Forgot password?" not in visitor.get("/login/").content
    response = ask(visitor)
    assert response.status_code == 503
    assert b"This site cannot send email yet" in response.content
    assert resets() == []
