"""Login protection: failures of one account from one address make that address wait.

After five failures (MaxFailedAccessAttemptsBeforeLockout) the pair waits 30 seconds, each
further failure doubles the wait, up to LockoutMinutes (15). Other addresses never wait.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db.models import F

from postroom.accounts import lockout
from postroom.core import ratelimit
from postroom.core.models import RateCounter

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

GENERIC = b"Please enter a correct email address and password."
LOCKED = (
    b"This account is temporarily locked after too many failed logins from this network address"
)
ATTACKER = "192.0.2.66"


def log_in(visitor, email="editor@example.com", password=PASSWORD, address="127.0.0.1"):
    return visitor.post("/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


def fail(visitor, times, email="editor@example.com", address="127.0.0.1"):
    return [log_in(visitor, email, "not-the-password", address) for _ in range(times)]


def let_time_pass(seconds: float) -> None:
    """As if the last failure happened ``seconds`` earlier."""
    shift = int(seconds * 1000)
    RateCounter.objects.update(
        last_at_ms=F("last_at_ms") - shift,
        window_start_ms=F("window_start_ms") - shift,
    )


def test_four_failures_then_the_right_password_still_works(visitor, editor):
    for response in fail(visitor, 4):
        assert GENERIC in response.content and LOCKED not in response.content
    assert log_in(visitor).status_code == 302


def test_the_fifth_failure_makes_the_address_wait_even_with_the_right_password(visitor, editor):
    *_, fifth = fail(visitor, 5)
    assert LOCKED in fifth.content and GENERIC not in fifth.content
    assert re.search(rb"Try again in (2[0-9]|30) seconds", fifth.content)
    locked = log_in(visitor)
    assert locked.status_code == 200
    assert LOCKED in locked.content and GENERIC not in locked.content
    assert visitor.get("/").status_code == 302


def test_failures_from_another_address_never_lock_the_owner_out(visitor, editor):
    fail(visitor, 7, address=ATTACKER)
    assert LOCKED in log_in(visitor, address=ATTACKER).content
    assert log_in(visitor, address="127.0.0.1").status_code == 302


def test_an_address_without_an_account_locks_exactly_the_same_way(visitor, editor):
    known = [response.content for response in fail(visitor, 6, "editor@example.com")]
    unknown = [response.content for response in fail(visitor, 6, "nobody@example.com")]
    assert [LOCKED in page for page in known] == [LOCKED in page for page in unknown]
    assert same_page(known[-1], b"editor@example.com") == same_page(
        unknown[-1], b"nobody@example.com"
    )


def same_page(html: bytes, address: bytes) -> bytes:
    """The page without what differs anyway: the address typed, the CSRF token, the wait
    (and the clock time it ends, which moves on between the two runs)."""
    html = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)
    html = re.sub(rb"Try again in \d+ seconds, after [\d:]+ UTC", b"", html)
    return html.replace(address, b"X")


def test_letter_case_does_not_escape_the_wait(visitor, editor):
    fail(visitor, 5)
    assert LOCKED in log_in(visitor, "Editor@Example.COM").content


def test_the_wait_ends_by_itself_and_each_further_failure_doubles_it(visitor, editor):
    fail(visitor, 5)
    let_time_pass(31)
    again = fail(visitor, 1)[0]
    assert re.search(rb"Try again in (5[0-9]|60) seconds", again.content)
    let_time_pass(61)
    assert log_in(visitor).status_code == 302


def test_trying_during_a_wait_does_not_make_it_longer(visitor, editor):
    fail(visitor, 5)
    for _ in range(10):
        assert LOCKED in log_in(visitor, password="still-wrong").content
    let_time_pass(31)
    assert log_in(visitor).status_code == 302


def test_waits_double_up_to_the_longest_wait():
    assert [lockout.wait_after(n).total_seconds() for n in range(4, 10)] == [
        0,
        30,
        60,
        120,
        240,
        480,
    ]
    assert lockout.wait_after(11) == timedelta(minutes=15)
    assert lockout.wait_after(500) == timedelta(minutes=15)


def test_a_successful_login_forgets_earlier_failures(visitor, editor):
    fail(visitor, 4)
    assert log_in(visitor).status_code == 302
    visitor.post("/logout/")
    assert LOCKED not in fail(visitor, 4)[-1].content


def test_the_limit_and_the_longest_wait_can_be_set(visitor, editor, monkeypatch):
    monkeypatch.setenv(
        "Umbraco__CMS__Security__UserPassword__MaxFailedAccessAttemptsBeforeLockout", "2"
    )
    monkeypatch.setenv("Postroom__Security__LockoutMinutes", "1")
    first, second = fail(visitor, 2)
    assert LOCKED not in first.content and LOCKED in second.content
    assert lockout.wait_after(2) == timedelta(seconds=30)
    assert lockout.wait_after(6) == timedelta(minutes=1)


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


def test_neither_the_address_typed_nor_the_client_address_is_stored(visitor, editor):
    fail(visitor, 3, address=ATTACKER)
    stored = " ".join(RateCounter.objects.values_list("key", flat=True))
    assert stored and "editor" not in stored and ATTACKER not in stored and "@" not in stored


def test_old_failures_are_cleaned_up(editor):
    lockout.record_failure("someone@example.com", ATTACKER)
    let_time_pass(timedelta(days=2).total_seconds())
    RateCounter.objects.update(expires_at_ms=F("expires_at_ms") - 2 * 86_400_000)
    assert ratelimit.forget_expired() == 1
    assert not RateCounter.objects.exists()


def test_the_locked_answer_to_the_right_password_says_when_to_try_again(visitor, editor):
    fail(visitor, 5)
    locked = log_in(visitor).content.decode()
    assert "temporarily locked" in locked
    assert re.search(r"Try again in \d+ seconds, after \d\d:\d\d:\d\d UTC\.", locked)
    assert "case-sensitive" not in locked


def test_a_wrong_password_does_not_call_the_email_case_sensitive(visitor, editor):
    wrong = log_in(visitor, password="not-it-at-all").content.decode()
    assert "Please enter a correct email address and password." in wrong
    assert "may be case-sensitive" not in wrong
    assert "both fields" not in wrong
