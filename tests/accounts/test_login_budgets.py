"""Login budgets that keep a flood from costing a password hash per request.

Per client address (IPv6 by /64) across all accounts: 20 failures, then waits, and no password
is hashed past it. Attempts are counted before the check, so a burst gets no more. Across
addresses, an account waits briefly (never over 60 s), but not where its owner logs in. At
most ``hashing.SLOTS`` password checks run at once; a login that cannot get a slot is told "busy".
"""

from __future__ import annotations

import contextlib
import re
import threading

import pytest
from django.contrib.auth import hashers

from postroom.accounts import hashing, lockout
from postroom.core import ratelimit

from .test_lockout import GENERIC, LOCKED, log_in

pytestmark = pytest.mark.django_db

BUSY = b"The server is busy checking other logins"
ATTACKER = "192.0.2.66"


@pytest.fixture
def hashes(monkeypatch) -> list[str]:
    """Every password hash computed or checked (for an account or the decoy of a non-account)."""
    calls: list[str] = []
    hasher = type(hashers.get_hasher())
    encode, verify = hasher.encode, hasher.verify

    def counted_encode(self, password, salt):  # noqa: ANN001, ANN202
        calls.append("encode")
        return encode(self, password, salt)

    def counted_verify(self, password, encoded):  # noqa: ANN001, ANN202
        calls.append("verify")
        return verify(self, password, encoded)

    monkeypatch.setattr(hasher, "encode", counted_encode)
    monkeypatch.setattr(hasher, "verify", counted_verify)
    return calls


def random_failures(visitor, count: int, address: str = ATTACKER, start: int = 0) -> list:
    return [
        log_in(visitor, f"guess{n}@example.com", "wrong-password", address)
        for n in range(start, start + count)
    ]


def test_past_the_address_budget_no_password_is_hashed(visitor, editor, hashes):
    within = random_failures(visitor, lockout.ADDRESS_FAILURES)
    assert all(LOCKED not in page.content for page in within[:-1])
    assert LOCKED in within[-1].content  # the 20th failure begins the wait
    hashed_within = len(hashes)
    assert hashed_within >= lockout.ADDRESS_FAILURES

    past = random_failures(visitor, 15, start=100)
    assert all(LOCKED in page.content for page in past)
    assert re.search(rb"Try again in \d+ seconds", past[-1].content)
    assert len(hashes) == hashed_within  # not one more hash
    # Even the right password of a real account waits: the budget is the address's.
    assert LOCKED in log_in(visitor, address=ATTACKER).content
    assert len(hashes) == hashed_within
    assert log_in(visitor, address="198.51.100.7").status_code == 302  # others are not slowed


def test_the_address_wait_grows(visitor, editor):
    random_failures(visitor, lockout.ADDRESS_FAILURES)
    first = lockout.wait_in_force("x@example.com", ATTACKER)
    assert 20 <= first.seconds_left <= 30
    waits = [lockout._address_wait(n).total_seconds() for n in range(20, 30)]
    assert waits == sorted(waits) and waits[0] == 30 and waits[-1] == 15 * 60


def test_a_successful_login_gives_its_try_back(visitor, editor):
    random_failures(visitor, lockout.ADDRESS_FAILURES - 2, address="127.0.0.1")
    for _ in range(3):  # an office behind one address: its logins do not use up the budget
        assert log_in(visitor).status_code == 302
        visitor.logout()
    assert LOCKED not in log_in(visitor, "other@example.com", "wrong", "127.0.0.1").content
    assert LOCKED in log_in(visitor, "other@example.com", "wrong", "127.0.0.1").content


def test_ipv6_addresses_count_by_their_64_bit_network(visitor, editor, hashes):
    for n in range(lockout.ADDRESS_FAILURES):
        log_in(visitor, f"guess{n}@example.com", "wrong", address=f"2001:db8:1:2::{n + 1:x}")
    hashed = len(hashes)
    neighbour = log_in(visitor, "new@example.com", "wrong", address="2001:db8:1:2:ffff::9")
    assert LOCKED in neighbour.content and len(hashes) == hashed
    elsewhere = log_in(visitor, "new@example.com", "wrong", address="2001:db8:1:3::1")
    assert GENERIC in elsewhere.content and LOCKED not in elsewhere.content


def test_address_groups():
    assert lockout.address_group("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert lockout.address_group("2001:DB8:1:2::ffff") == "2001:db8:1:2::/64"
    assert lockout.address_group("::ffff:192.0.2.1") == "192.0.2.1"
    assert lockout.address_group("192.0.2.1") == "192.0.2.1"
    assert lockout.address_group("unknown") == "unknown"


def test_a_parallel_burst_gets_no_more_tries(visitor, editor, hashes, monkeypatch):
    """As if every attempt of the burst checked for a wait before any of them was counted:
    the check reads what it read before the burst. The atomic count still stops them."""
    stale_peek = ratelimit.peek
    monkeypatch.setattr(ratelimit, "peek", lambda scope, key, now=None: None)
    pages = [log_in(visitor, password="wrong-password", address=ATTACKER) for _ in range(12)]
    checked = [page for page in pages if LOCKED not in page.content]
    assert len(checked) <= 5  # MaxFailedAccessAttemptsBeforeLockout, not one per request
    monkeypatch.setattr(ratelimit, "peek", stale_peek)
    assert ratelimit.peek(lockout.SCOPE, ("editor@example.com", ATTACKER)).count == 12
    assert LOCKED in log_in(visitor, address=ATTACKER).content


def test_a_parallel_burst_of_many_accounts_stays_within_the_address_budget(
    visitor, editor, hashes, monkeypatch
):
    monkeypatch.setattr(ratelimit, "peek", lambda scope, key, now=None: None)
    pages = random_failures(visitor, 40)
    assert sum(LOCKED not in page.content for page in pages) <= lockout.ADDRESS_FAILURES
    assert len(hashes) <= lockout.ADDRESS_FAILURES


def test_an_account_attacked_from_many_addresses_waits_briefly(visitor, editor, hashes):
    for n in range(lockout.ACCOUNT_FAILURES):
        log_in(visitor, password="wrong-password", address=f"203.0.113.{n + 1}")
    hashed = len(hashes)
    page = log_in(visitor, address="198.51.100.50")  # the right password, a new address
    assert LOCKED in page.content and len(hashes) == hashed
    assert lockout.wait_in_force("editor@example.com", "198.51.100.50").seconds_left <= 60
    for _ in range(20):  # more failures never make the wait longer than a minute
        ratelimit.hit(lockout.ACCOUNT_SCOPE, "editor@example.com", lockout.ACCOUNT_WINDOW)
    assert lockout.wait_in_force("editor@example.com", "198.51.100.50").seconds_left <= 60


def test_the_account_wait_spares_where_the_owner_logs_in(visitor, editor):
    assert log_in(visitor, address="198.51.100.9").status_code == 302
    visitor.logout()
    for n in range(lockout.ACCOUNT_FAILURES + 5):
        log_in(visitor, password="wrong-password", address=f"203.0.113.{n + 1}")
    assert LOCKED in log_in(visitor, address="198.51.100.50").content
    assert log_in(visitor, address="198.51.100.9").status_code == 302


def test_a_login_without_a_free_slot_is_told_busy_and_costs_nothing(
    visitor, editor, hashes, monkeypatch
):
    monkeypatch.setattr(hashing, "WAIT_SECONDS", 0.2)
    with contextlib.ExitStack() as every_slot_taken:
        for _ in range(hashing.SLOTS):
            every_slot_taken.enter_context(hashing.password_check_slot())
        page = log_in(visitor)
    assert BUSY in page.content and page.status_code == 200
    assert hashes == []
    assert ratelimit.peek(lockout.ADDRESS_SCOPE, "127.0.0.1") is None  # not counted
    assert log_in(visitor).status_code == 302


def test_no_more_password_checks_at_once_than_slots(monkeypatch):
    running, most = [0], [0]
    lock = threading.Lock()
    gate = threading.Event()

    def check() -> None:
        try:
            with hashing.password_check_slot(wait_seconds=5):
                with lock:
                    running[0] += 1
                    most[0] = max(most[0], running[0])
                gate.wait(0.2)
                with lock:
                    running[0] -= 1
        except hashing.Busy:
            pass

    threads = [threading.Thread(target=check) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most[0] == hashing.SLOTS
