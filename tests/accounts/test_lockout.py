"""Login protection: an address is locked for a while after five failed logins."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from postroom.accounts.models import LoginLock

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

GENERIC = b"Please enter a correct email address and password."
LATER = b"Too many failed attempts: try again later"


def log_in(visitor, email="editor@example.com", password=PASSWORD):
    return visitor.post("/login/", {"username": email, "password": password})


def fail(visitor, times, email="editor@example.com"):
    return [log_in(visitor, email, "not-the-password") for _ in range(times)]


def test_four_failures_then_the_right_password_still_works(visitor, editor):
    for response in fail(visitor, 4):
        assert GENERIC in response.content and LATER not in response.content
    assert log_in(visitor).status_code == 302


def test_the_fifth_failure_locks_the_address_even_for_the_right_password(visitor, editor):
    *_, fifth = fail(visitor, 5)
    assert GENERIC in fifth.content and LATER in fifth.content
    assert b"in about 15 minutes" in fifth.content
    locked = log_in(visitor)
    assert locked.status_code == 200
    assert GENERIC in locked.content and LATER in locked.content
    assert visitor.get("/").status_code == 302


def test_an_address_without_an_account_locks_exactly_the_same_way(visitor, editor):
    known = [response.content for response in fail(visitor, 6, "editor@example.com")]
    unknown = [response.content for response in fail(visitor, 6, "nobody@example.com")]
    assert [LATER in page for page in known] == [LATER in page for page in unknown]
    assert same_page(known[-1], b"editor@example.com") == same_page(
        unknown[-1], b"nobody@example.com"
    )


def same_page(html: bytes, address: bytes) -> bytes:
    """The page without what differs anyway: the address typed and the CSRF token."""
    html = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)
    return html.replace(address, b"X")


def test_letter_case_does_not_escape_the_lock(visitor, editor):
    fail(visitor, 5)
    assert LATER in log_in(visitor, "Editor@Example.COM").content


def test_the_lock_lifts_by_itself_after_fifteen_minutes(visitor, editor):
    fail(visitor, 5)
    LoginLock.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert log_in(visitor).status_code == 302


def test_a_successful_login_forgets_earlier_failures(visitor, editor):
    fail(visitor, 4)
    assert log_in(visitor).status_code == 302
    visitor.post("/logout/")
    assert LATER not in fail(visitor, 4)[-1].content


def test_the_limit_and_the_duration_can_be_set(visitor, editor, monkeypatch):
    monkeypatch.setenv(
        "Umbraco__CMS__Security__UserPassword__MaxFailedAccessAttemptsBeforeLockout", "2"
    )
    monkeypatch.setenv("Postroom__Security__LockoutMinutes", "60")
    *_, second = fail(visitor, 2)
    assert b"in about 60 minutes" in second.content


def test_an_administrator_sees_the_lock_and_lifts_it(visitor, editor, admin_client):
    fail(visitor, 5)
    listing = admin_client.get("/users/").content.decode()
    assert "Locked until" in listing
    page = admin_client.get(f"/users/{editor.pk}/").content.decode()
    assert "Locked after failed logins" in page
    response = admin_client.post(f"/users/{editor.pk}/unlock/")
    assert response.status_code == 302
    assert b"can log in again right away" in admin_client.get(response["Location"]).content
    assert log_in(visitor).status_code == 302


def test_the_login_email_is_not_case_sensitive(visitor, editor):
    assert log_in(visitor, "EDITOR@example.com").status_code == 302


def test_old_failures_and_locks_are_cleaned_up(editor):
    from postroom.accounts import lockout

    lockout.record_failure("someone@example.com")
    LoginLock.objects.update(last_failure_at=timezone.now() - timedelta(days=2))
    assert lockout.forget_old() == 1
    assert not LoginLock.objects.exists()
