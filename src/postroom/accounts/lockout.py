"""Login lockout: after N failed logins with one address, that address is locked for a while.

The count is kept per address typed, whether or not an account has it, so the "try again
later" message says nothing about which addresses have accounts. While locked, the password
is not even checked: a correct guess during the lock looks like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone

from postroom.accounts import config
from postroom.accounts.models import LoginLock
from postroom.accounts.tokens import digest

FORGET_FAILURES_AFTER = timedelta(days=1)  # failures this old no longer count


@dataclass(frozen=True)
class LockState:
    locked_until: datetime | None

    @property
    def locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()

    @property
    def minutes_left(self) -> int:
        if not self.locked or self.locked_until is None:
            return 0
        seconds = (self.locked_until - timezone.now()).total_seconds()
        return max(1, int((seconds + 59) // 60))


def _key(email: str) -> str:
    return digest(email.strip().lower())


def state(email: str) -> LockState:
    row = LoginLock.objects.filter(key=_key(email)).only("locked_until").first()
    return LockState(row.locked_until if row else None)


def record_failure(email: str) -> LockState:
    """Count one failed login; lock the address when the limit is reached."""
    max_failures, duration = config.lockout_policy()
    now = timezone.now()
    key = _key(email)
    row, created = LoginLock.objects.get_or_create(key=key, defaults={"last_failure_at": now})
    if not created and row.last_failure_at < now - FORGET_FAILURES_AFTER:
        LoginLock.objects.filter(pk=row.pk).update(failures=0)
    LoginLock.objects.filter(pk=row.pk).update(failures=F("failures") + 1, last_failure_at=now)
    row.refresh_from_db()
    if row.failures >= max_failures:
        LoginLock.objects.filter(pk=row.pk).update(failures=0, locked_until=now + duration)
        return LockState(now + duration)
    return LockState(row.locked_until)


def record_success(email: str) -> None:
    LoginLock.objects.filter(key=_key(email)).delete()


def unlock(email: str) -> bool:
    """An administrator lifts the lock; True if there was one."""
    deleted, _ = LoginLock.objects.filter(key=_key(email)).delete()
    return bool(deleted)


def locked_addresses(emails: list[str]) -> dict[str, datetime]:
    """For the Users screen: which of these addresses are locked now, and until when."""
    keys = {_key(email): email for email in emails}
    rows = LoginLock.objects.filter(key__in=keys, locked_until__gt=timezone.now())
    return {keys[row.key]: row.locked_until for row in rows if row.locked_until}


def forget_old(now: datetime | None = None) -> int:
    """Housekeeping: drop rows with no lock in force and no recent failure."""
    now = now or timezone.now()
    stale = LoginLock.objects.filter(last_failure_at__lt=now - FORGET_FAILURES_AFTER).exclude(
        locked_until__gt=now
    )
    deleted, _ = stale.delete()
    return deleted
