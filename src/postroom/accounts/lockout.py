"""Login lockout: failures of one account from one address make that address wait, growingly.

- Counted per (address typed, client address), with the shared rate limiter, whether or not
  an account has the address: the lockout message says nothing about who has an account.
  Failures from elsewhere never lock the account's owner out: an attacker can slow down
  only their own attempts.
- After ``MaxFailedAccessAttemptsBeforeLockout`` failures, that pair waits ``FIRST_WAIT``;
  each further failure doubles the wait, up to ``LockoutMinutes``. Failures are forgotten a
  day after the first, on a successful login, a password reset or an administrator's unlock.
- While a wait is in force the password is not even checked, and the attempt is not counted:
  a correct guess then looks like any other, and nobody can make a wait longer by retrying.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from postroom.accounts import config
from postroom.core import ratelimit

SCOPE = "login-failures"
FIRST_WAIT = timedelta(seconds=30)
FORGET_FAILURES_AFTER = timedelta(days=1)  # counted from the first failure


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


def wait_after(failures: int) -> timedelta:
    """How long the pair waits after its ``failures``-th failure (zero before the limit)."""
    max_failures, longest = config.lockout_policy()
    if failures < max_failures:
        return timedelta(0)
    doublings = min(failures - max_failures, 32)
    return min(FIRST_WAIT * 2**doublings, longest)


def _state(count: ratelimit.Count | None) -> LockState:
    if count is None:
        return LockState(None)
    wait = wait_after(count.count)
    return LockState(count.last_at + wait if wait else None)


def state(email: str, address: str) -> LockState:
    return _state(ratelimit.peek(SCOPE, (_account(email), address)))


def record_failure(email: str, address: str) -> LockState:
    """Count one failed login of ``email`` from ``address``; the wait that follows, if any."""
    return _state(ratelimit.hit(SCOPE, (_account(email), address), FORGET_FAILURES_AFTER))


def record_success(email: str, address: str | None = None) -> None:
    """Forget the failures from ``address`` (from every address when None)."""
    key = _account(email) if address is None else (_account(email), address)
    ratelimit.clear(SCOPE, key)


def unlock(email: str) -> bool:
    """An administrator lifts every wait of the account; True if there was one."""
    was_locked = locked_until(email) is not None
    ratelimit.clear(SCOPE, _account(email))
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
