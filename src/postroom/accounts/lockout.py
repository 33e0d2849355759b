"""Login lockout: failures of one account from one address make that address wait, growingly.

- Counted per (address typed, client address), with the shared rate limiter, whether or not
  an account has the address: the lockout message says nothing about who has an account.
  Failures from elsewhere never lock the account's owner out for more than a minute (the
  account-wide wait below), and never where the owner has logged in before.
- After ``MaxFailedAccessAttemptsBeforeLockout`` failures, that pair waits ``FIRST_WAIT``;
  each further failure doubles the wait, up to ``LockoutMinutes``. Failures are forgotten a
  day after the first, on a successful login, a password reset or an administrator's unlock.
- While a wait is in force the password is not even checked, and the attempt is not counted:
  a correct guess then looks like any other, and nobody can make a wait longer by retrying.
- Each attempt is counted (one atomic statement) *before* its password is checked, so a
  burst of parallel attempts cannot slip past the limit: beyond it, only the attempt that
  finds the count unchanged since its check gets its password checked.

Two more budgets keep a flood from costing the server a password hash per request:

- Per client address (IPv6 grouped by /64), across all accounts: ``ADDRESS_FAILURES``
  failures, forgotten ``ADDRESS_WINDOW`` after the first; beyond it the address waits
  30 seconds, doubling with each further failure. A successful login gives its try back.
- Per account, across addresses: after ``ACCOUNT_FAILURES`` failures, a short wait
  (``ACCOUNT_FIRST_WAIT`` doubling, never over ``ACCOUNT_LONGEST_WAIT``) for every address
  that has not logged in to the account in the last ``KNOWN_ADDRESS_FOR``, so that an
  attacker can never keep the owner out for long, nor at all from where they usually log in.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from postroom.accounts import config
from postroom.core import ratelimit

SCOPE = "login-failures"
FIRST_WAIT = timedelta(seconds=30)
FORGET_FAILURES_AFTER = timedelta(days=1)  # counted from the first failure

ADDRESS_SCOPE = "login-address"
ADDRESS_FAILURES = 20
ADDRESS_WINDOW = timedelta(minutes=15)
ADDRESS_LONGEST_WAIT = timedelta(minutes=15)

ACCOUNT_SCOPE = "login-account"
ACCOUNT_FAILURES = 50
ACCOUNT_WINDOW = timedelta(hours=1)
ACCOUNT_FIRST_WAIT = timedelta(seconds=5)
ACCOUNT_LONGEST_WAIT = timedelta(seconds=60)

KNOWN_SCOPE = "login-known"
KNOWN_ADDRESS_FOR = timedelta(days=30)
IPV6_GROUP_PREFIX = 64


@dataclass(frozen=True)
class LockState:
    locked_until: datetime | None

    @property
    def locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > datetime.now(UTC)

    @property
    def seconds_left(self) -> int:
        if not self.locked or self.locked_until is None:
            return 0
        return max(1, int((self.locked_until - datetime.now(UTC)).total_seconds() + 0.999))

    @property
    def wait_words(self) -> str:
        """``30 seconds``, ``4 minutes``: how long until the next try."""
        seconds = self.seconds_left
        if seconds < 90:
            return f"{seconds} second{'' if seconds == 1 else 's'}"
        minutes = (seconds + 59) // 60
        return f"{minutes} minutes"


def _account(email: str) -> str:
    return email.strip().lower()


def address_group(address: str) -> str:
    """The client address as counted: an IPv6 address stands for its /64 (one subscriber's
    network hands out any address in it), an IPv4 address for itself."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/{IPV6_GROUP_PREFIX}", strict=False))
    return str(ip)


def _growing(failures: int, limit: int, first: timedelta, longest: timedelta) -> timedelta:
    if failures < limit:
        return timedelta(0)
    return min(first * 2 ** min(failures - limit, 32), longest)


def wait_after(failures: int) -> timedelta:
    """How long the pair waits after its ``failures``-th failure (zero before the limit)."""
    max_failures, longest = config.lockout_policy()
    return _growing(failures, max_failures, FIRST_WAIT, longest)


def _address_wait(failures: int) -> timedelta:
    return _growing(failures, ADDRESS_FAILURES, FIRST_WAIT, ADDRESS_LONGEST_WAIT)


def _account_wait(failures: int) -> timedelta:
    return _growing(failures, ACCOUNT_FAILURES, ACCOUNT_FIRST_WAIT, ACCOUNT_LONGEST_WAIT)


def _state(
    count: ratelimit.Count | None, wait_for: Callable[[int], timedelta] = wait_after
) -> LockState:
    if count is None:
        return LockState(None)
    wait = wait_for(count.count)
    return LockState(count.last_at + wait if wait else None)


def state(email: str, address: str) -> LockState:
    return _state(ratelimit.peek(SCOPE, (_account(email), address)))


@dataclass(frozen=True)
class _Budget:
    scope: str
    key: ratelimit.Key
    limit: int
    window: timedelta
    wait_for: Callable[[int], timedelta]

    def peek(self) -> ratelimit.Count | None:
        return ratelimit.peek(self.scope, self.key)

    def state(self, count: ratelimit.Count | None) -> LockState:
        return _state(count, self.wait_for)


def _budgets(email: str, address: str) -> list[_Budget]:
    max_failures, _ = config.lockout_policy()
    group = address_group(address)
    budgets = [
        _Budget(SCOPE, (_account(email), address), max_failures, FORGET_FAILURES_AFTER, wait_after),
        _Budget(ADDRESS_SCOPE, group, ADDRESS_FAILURES, ADDRESS_WINDOW, _address_wait),
    ]
    if ratelimit.peek(KNOWN_SCOPE, (_account(email), group)) is None:
        budgets.append(
            _Budget(ACCOUNT_SCOPE, _account(email), ACCOUNT_FAILURES, ACCOUNT_WINDOW, _account_wait)
        )
    return budgets


def wait_in_force(email: str, address: str) -> LockState:
    """The wait in force for this account from this address, from any budget (counts nothing)."""
    for budget in _budgets(email, address):
        lock = budget.state(budget.peek())
        if lock.locked:
            return lock
    return LockState(None)


def begin_attempt(email: str, address: str) -> LockState:
    """Before a password is checked: the wait in force, if any; else count the attempt.

    A locked result means: answer at once, check no password. Otherwise the attempt is
    already counted as a failure; call :func:`record_success` if the password was right.
    Whoever finds a wait in force is not counted (retrying never makes a wait longer).
    """
    budgets = _budgets(email, address)
    before = [budget.peek() for budget in budgets]
    for budget, count in zip(budgets, before, strict=True):
        if budget.state(count).locked:
            return budget.state(count)
    counted = [ratelimit.hit(budget.scope, budget.key, budget.window) for budget in budgets]
    for budget, count, now in zip(budgets, before, counted, strict=True):
        # Parallel attempts all passed the check above; within the limit each may go on,
        # beyond it only the one that found the count unchanged since its check.
        seen = count.count if count is not None else 0
        if now.count > budget.limit and now.count != seen + 1:
            return budget.state(now)
    return LockState(None)


def record_failure(email: str, address: str) -> LockState:
    """Count one failed login of ``email`` from ``address``; the wait that follows, if any."""
    return _state(ratelimit.hit(SCOPE, (_account(email), address), FORGET_FAILURES_AFTER))


def after_failure(email: str, address: str) -> LockState:
    """After a wrong password (already counted by :func:`begin_attempt`): the wait it began."""
    return wait_in_force(email, address)


def record_success(email: str, address: str | None = None) -> None:
    """Forget the failures from ``address`` (from every address when None).

    A login from ``address`` gives its counted try back to the address's budget and
    makes the address known to the account (no account-wide waits there).
    """
    ratelimit.clear(ACCOUNT_SCOPE, _account(email))
    if address is None:
        ratelimit.clear(SCOPE, _account(email))
        return
    ratelimit.clear(SCOPE, (_account(email), address))
    group = address_group(address)
    ratelimit.take_back(ADDRESS_SCOPE, group)
    ratelimit.hit(KNOWN_SCOPE, (_account(email), group), KNOWN_ADDRESS_FOR)


def unlock(email: str) -> bool:
    """An administrator lifts every wait of the account; True if there was one."""
    was_locked = locked_until(email) is not None
    ratelimit.clear(SCOPE, _account(email))
    ratelimit.clear(ACCOUNT_SCOPE, _account(email))
    return was_locked


def locked_until(email: str) -> datetime | None:
    """The end of the latest wait in force for the account, from any address."""
    ends = [
        lock.locked_until
        for lock in map(_state, ratelimit.counts_under(SCOPE, _account(email)))
        if lock.locked
    ]
    return max(ends, default=None)


def locked_addresses(emails: list[str]) -> dict[str, datetime]:
    """For the Users screen: which of these accounts wait now (from some address), until when."""
    found = {email: locked_until(email) for email in emails}
    return {email: until for email, until in found.items() if until is not None}
