"""How the catcher's store thread keeps a message: committed before the reply, within the quota,
on a connection it checks when it has been idle."""

from __future__ import annotations

import io
import threading
import time

import pytest
from django.db import OperationalError, connection, connections

from postroom.inbox import server as inbox_server_module
from postroom.inbox.models import CaughtMessage
from postroom.inbox.server import Limits, _store

# The store commits (or not) by itself, as in the catcher: no test transaction around it.
pytestmark = pytest.mark.django_db(transaction=True)


def _raw(subject: str) -> bytes:
    return f"Subject: {subject}\r\nFrom: app@example.com\r\n\r\nbody of {subject}\r\n".encode()


def _store_one(subject: str, limits: Limits | None = None) -> int:
    limits = limits or Limits()
    return _store("app@example.com", ["user@example.com"], io.BytesIO(_raw(subject)), limits)


def _subjects_seen_elsewhere() -> list[str]:
    """The subjects another connection (another thread's) reads: what was committed."""
    seen: list[str] = []

    def read() -> None:
        try:
            seen.extend(CaughtMessage.objects.order_by("id").values_list("subject", flat=True))
        finally:
            connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    return seen


def test_a_stored_message_is_committed_when_the_store_returns() -> None:
    for n in range(3):
        _store_one(f"m{n}")
        assert _subjects_seen_elsewhere()[-1] == f"m{n}"


def test_within_the_quota_nothing_is_deleted_and_over_it_the_oldest_go() -> None:
    limits = Limits(quota_messages=3)
    for n in range(3):
        _store_one(f"m{n}", limits)
    assert _subjects_seen_elsewhere() == ["m0", "m1", "m2"]
    _store_one("m3", limits)
    assert _subjects_seen_elsewhere() == ["m1", "m2", "m3"]


def test_a_message_that_cannot_be_stored_deletes_nothing_for_its_room(monkeypatch) -> None:
    limits = Limits(quota_messages=2)
    _store_one("m0", limits)
    _store_one("m1", limits)

    def failing_insert(self: CaughtMessage) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(CaughtMessage, "insert", failing_insert)
    with pytest.raises(RuntimeError):
        _store_one("m2", limits)
    assert _subjects_seen_elsewhere() == ["m0", "m1"], "the oldest kept: nothing was stored"


def test_a_connection_idle_for_a_while_is_checked_and_a_busy_one_is_not(monkeypatch) -> None:
    _store_one("first")  # opens the connection
    checks = []
    real_is_usable = type(connections["default"]).is_usable

    def counting_is_usable(self) -> bool:  # noqa: ANN001
        checks.append(1)
        return real_is_usable(self)

    monkeypatch.setattr(type(connections["default"]), "is_usable", counting_is_usable)
    _store_one("a moment later")
    assert checks == []
    inbox_server_module._last_store.at = (
        time.monotonic() - inbox_server_module.CHECK_IDLE_CONNECTION - 1
    )
    _store_one("after a pause")
    assert checks == [1]
    assert _subjects_seen_elsewhere() == ["first", "a moment later", "after a pause"]


def test_a_connection_found_unusable_after_a_pause_is_replaced(monkeypatch) -> None:
    _store_one("first")
    before = connection.connection
    asked: list[int] = []

    def unusable(self) -> bool:  # noqa: ANN001
        asked.append(1)
        return False

    monkeypatch.setattr(type(connections["default"]), "is_usable", unusable)
    inbox_server_module._last_store.at = (
        time.monotonic() - inbox_server_module.CHECK_IDLE_CONNECTION - 1
    )
    _store_one("on a new connection")
    assert asked == [1]
    if connection.vendor == "postgresql":  # the in-memory SQLite test database stays open
        assert connection.connection is not before
    assert _subjects_seen_elsewhere() == ["first", "on a new connection"]


def test_a_full_inbox_makes_room_without_trying_the_insert_first(monkeypatch) -> None:
    limits = Limits(quota_messages=2)
    _store_one("m0", limits)
    _store_one("m1", limits)
    tries: list[int] = []
    insert_within = CaughtMessage.insert_within

    def counted(self, messages: int, size: int) -> bool:  # noqa: ANN001
        tries.append(1)
        return insert_within(self, messages, size)

    monkeypatch.setattr(CaughtMessage, "insert_within", counted)
    for n in range(2, 6):
        _store_one(f"m{n}", limits)
    assert tries == [1]  # the first found no room; the next went straight to making room
    assert _subjects_seen_elsewhere() == ["m4", "m5"]
    CaughtMessage.objects.filter(subject="m4").delete()  # room again (retention, a user)
    _store_one("m6", limits)
    _store_one("m7", limits)
    assert tries == [1, 1]  # m6 found room by making none; m7 tried the one-statement insert
    assert _subjects_seen_elsewhere() == ["m6", "m7"]


def test_a_connection_lost_since_the_last_store_is_replaced_and_the_store_made_again(
    monkeypatch,
) -> None:
    _store_one("first")
    insert_within = CaughtMessage.insert_within
    failures = [OperationalError("server closed the connection unexpectedly")]

    def lost_once(self, messages: int, size: int) -> bool:  # noqa: ANN001
        if failures:
            raise failures.pop()
        return insert_within(self, messages, size)

    monkeypatch.setattr(CaughtMessage, "insert_within", lost_once)
    monkeypatch.setattr(type(connections["default"]), "is_usable", lambda self: False)
    _store_one("after a restart")  # no 451 for the application under test
    assert _subjects_seen_elsewhere() == ["first", "after a restart"]


def test_a_failure_on_a_sound_connection_is_not_made_again(monkeypatch) -> None:
    def refuses(self, messages: int, size: int) -> bool:  # noqa: ANN001
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(CaughtMessage, "insert_within", refuses)
    monkeypatch.setattr(type(connections["default"]), "is_usable", lambda self: True)
    with pytest.raises(OperationalError):
        _store_one("refused")
