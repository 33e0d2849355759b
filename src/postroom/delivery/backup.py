"""The backup connection: a second SMTP server that takes over when the main one fails.

Mail switches to the backup (``Postroom:Smtp:Backup``) when the main server

- cannot be reached, or fails TLS, the greeting, EHLO or the login: at once, for this batch,
  and for :data:`TRY_MAIN_AGAIN` after it;
- has answered nothing but temporary (4xx) failures for ``AfterTemporaryFailureMinutes``:
  from then on for :data:`TRY_MAIN_AGAIN`. A message refused with 4xx keeps its retry delay,
  so it goes out over the backup at its next try.

After :data:`TRY_MAIN_AGAIN` the main server gets the next batch again; one more failure sends
mail back to the backup at once, a message it accepts ends the episode. Each worker process
keeps this state for itself: a process that starts learns of a failing server on its own.

The transport only chooses which server a message goes to; it never retries a message, and
never sleeps. The hosting fallback relay has nothing to do with it: that one carries only
invitations and alerts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from postroom.delivery.models import Connection
from postroom.delivery.transports.base import (
    DeliveryError,
    OutgoingMessage,
    SendResult,
    Transport,
)

log = logging.getLogger("postroom.delivery")

TRY_MAIN_AGAIN = timedelta(minutes=5)
# A failure at one of these steps means the server itself cannot be used right now.
OPENING_STEPS = frozenset({"dns", "connect", "tls", "certificate", "banner", "ehlo", "security"})
OPENING_STEPS |= {"auth"}

clock: Callable[[], float] = time.monotonic  # tests move it forward


class MainServerState:
    """What one process knows about one main server: whether mail goes to the backup now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.backup_until = 0.0  # clock() before which mail goes to the backup
        self.failing_since: float | None = None  # the first 4xx of an unbroken run of them

    def use_backup(self) -> bool:
        with self._lock:
            return clock() < self.backup_until

    def unusable(self) -> None:
        """The main server could not be reached, or refused TLS or the login."""
        with self._lock:
            self.backup_until = clock() + TRY_MAIN_AGAIN.total_seconds()

    def temporary_failure(self, after: timedelta) -> bool:
        """A 4xx answer; True when the main server has given only those for ``after``."""
        with self._lock:
            now = clock()
            if self.failing_since is None:
                self.failing_since = now
            if now - self.failing_since >= after.total_seconds():
                self.backup_until = now + TRY_MAIN_AGAIN.total_seconds()
                return True
            return False

    def accepted(self) -> None:
        with self._lock:
            self.failing_since = None
            self.backup_until = 0.0


_states: dict[str, MainServerState] = {}
_states_lock = threading.Lock()


def state_of(main: str) -> MainServerState:
    """The state of the main server described by ``main`` (one per server in a process)."""
    with _states_lock:
        return _states.setdefault(main, MainServerState())


def forget() -> None:
    """Forget every server's state (for tests, and when the settings change)."""
    with _states_lock:
        _states.clear()


class FailoverTransport(Transport):
    """The main server's transport, with the backup's standing by. ``connection`` says which
    one is in use; results and errors carry it, for the email log."""

    def __init__(
        self,
        main: Transport,
        backup: Transport,
        *,
        after: timedelta,
        backup_sender: str | None = None,
    ) -> None:
        self.main, self.backup = main, backup
        self.after = after
        self.backup_sender = backup_sender  # the envelope sender on the backup, when its own
        self.state = state_of(main.description)
        self.connection = Connection.MAIN.value
        self.description = f"{main.description} (backup {backup.description})"
        self._opened: Transport | None = None

    def __repr__(self) -> str:
        return f"<FailoverTransport {self.description}>"

    @property
    def current(self) -> Transport:
        return self.backup if self.connection == Connection.BACKUP else self.main

    def open(self) -> None:
        if self.connection == Connection.MAIN and not self.state.use_backup():
            try:
                self._open(self.main)
                return
            except DeliveryError as error:
                if error.step not in OPENING_STEPS:
                    raise _tagged(error, Connection.MAIN) from error
                self.state.unusable()
                log.warning(
                    "The main SMTP server %s failed at %s; switching to the backup %s: %s",
                    self.main.description,
                    error.step,
                    self.backup.description,
                    error.message,
                )
                self._switch_to_backup(error)
                return
        self._switch_to_backup()

    def send(
        self,
        message: OutgoingMessage,
        before_content: Callable[[], None] | None = None,
        then: OutgoingMessage | None = None,
    ) -> SendResult:
        if self.connection == Connection.MAIN and self.state.use_backup():
            self._switch_to_backup()
        if self.connection == Connection.BACKUP:
            return self._send_backup(message, before_content, then)
        try:
            result = self.main.send(message, before_content, then)
        except DeliveryError as error:
            if error.step in OPENING_STEPS:
                self.state.unusable()  # the next message goes to the backup
            elif error.transient and (error.reply or "")[:1] == "4":
                self._temporary_failure()
            raise _tagged(error, Connection.MAIN) from error
        if result.accepted:
            self.state.accepted()
        elif any(reply[:1] == "4" for reply in result.refused.values()):
            self._temporary_failure()
        return replace(result, connection=Connection.MAIN.value)

    def close(self) -> None:
        opened, self._opened = self._opened, None
        if opened is not None:
            opened.close()

    # -- helpers -------------------------------------------------------------------------------

    def _open(self, transport: Transport) -> None:
        if self._opened is not transport:
            self.close()
        self._opened = transport
        transport.open()

    def _switch_to_backup(self, main_error: DeliveryError | None = None) -> None:
        self.connection = Connection.BACKUP.value
        try:
            self._open(self.backup)
        except DeliveryError as error:
            if main_error is None:
                raise DeliveryError(
                    f"The backup server failed (the main server {self.main.description} failed"
                    f" a moment ago and is tried again within {TRY_MAIN_AGAIN}): {error.message}",
                    step=error.step,
                    transient=error.transient,
                    reply=error.reply,
                    connection=Connection.BACKUP.value,
                ) from error
            raise DeliveryError(
                f"The main server failed: {main_error.message} The backup server failed too:"
                f" {error.message}",
                step=error.step,
                transient=True,
                reply=error.reply,
                connection=Connection.BACKUP.value,
            ) from error

    def _send_backup(
        self,
        message: OutgoingMessage,
        before_content: Callable[[], None] | None,
        then: OutgoingMessage | None,
    ) -> SendResult:
        if self.backup_sender:
            message = replace(message, sender=self.backup_sender)
            then = then and replace(then, sender=self.backup_sender)
        try:
            result = self.backup.send(message, before_content, then)
        except DeliveryError as error:
            raise _tagged(error, Connection.BACKUP) from error
        return replace(result, connection=Connection.BACKUP.value)

    def _temporary_failure(self) -> None:
        if self.state.temporary_failure(self.after):
            log.warning(
                "The main SMTP server %s has answered only temporary failures for %s;"
                " switching to the backup %s",
                self.main.description,
                self.after,
                self.backup.description,
            )


def _tagged(error: DeliveryError, connection: str) -> DeliveryError:
    tagged = DeliveryError(
        error.message,
        step=error.step,
        transient=error.transient,
        reply=error.reply,
        connection=connection,
    )
    return tagged
