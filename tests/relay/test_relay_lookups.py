"""The relay's lookup thread keeps one database connection: a connection dropped behind its
back, a read that fails or one that never ends must cost the client a retry, never its mail."""

from __future__ import annotations

import asyncio
import smtplib
import threading

import pytest
from django.db import OperationalError, connection

from postroom.applications.models import Application
from postroom.relay import lookups as lookups_module
from postroom.relay import server as relay_server
from postroom.relay.lookups import Lookups, LookupTimeout
from relay.conftest import SENDER, message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]


def count_applications() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {Application._meta.db_table}")  # noqa: S608
        return cursor.fetchone()[0]


def test_a_read_that_fails_on_a_broken_connection_is_made_once_more_on_a_new_one(
    application,
) -> None:
    """A database restart or an idle timeout breaks the kept connection behind Django's back;
    the first read then fails, and the session must not pay for it."""
    calls: list[int] = []

    def breaks_once() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return count_applications()

    lookups = Lookups()
    try:
        assert asyncio.run(lookups.run(breaks_once)) == 1
        assert len(calls) == 2
    finally:
        lookups.close()


def test_a_read_that_never_ends_is_given_up_after_the_timeout(monkeypatch) -> None:
    monkeypatch.setattr(lookups_module, "LOOKUP_TIMEOUT", 0.2)
    release = threading.Event()
    lookups = Lookups()
    try:
        with pytest.raises(LookupTimeout):
            asyncio.run(lookups.run(release.wait, 5))
    finally:
        release.set()
        lookups.close()


def test_a_failed_check_asks_the_client_to_retry_and_shows_it_no_database_text(
    logged_in, monkeypatch, caplog
) -> None:
    def failing(*_: object) -> None:
        raise OperationalError("terminating connection: internal detail")

    monkeypatch.setattr(relay_server, "recheck", failing)
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        logged_in.sendmail(SENDER, ["ann@example.net"], message("Retry me"))
    assert refused.value.smtp_code == 451
    assert b"internal detail" not in refused.value.smtp_error
    assert "OperationalError" in caplog.text


def test_the_same_read_asked_by_several_sessions_at_once_is_made_once() -> None:
    busy, release = threading.Event(), threading.Event()
    made: list[tuple] = []

    def hold() -> None:
        busy.set()
        release.wait(5)

    def read(*args: object) -> tuple:
        made.append(args)
        return args

    async def sessions() -> list:
        holding = asyncio.ensure_future(lookups.run(hold))
        await asyncio.to_thread(busy.wait, 5)  # the thread is busy: the reads below queue up
        reads = [lookups.run(read, "127.0.0.1", None) for _ in range(3)]
        reads.append(lookups.run(read, "127.0.0.2", None))
        reads.append(lookups.run(read, ["unhashable"]))
        gathered = asyncio.gather(*reads)
        await asyncio.sleep(0.05)
        release.set()
        await holding
        return await gathered

    lookups = Lookups()
    try:
        answers = asyncio.run(sessions())
    finally:
        release.set()
        lookups.close()
    assert answers == [("127.0.0.1", None)] * 3 + [("127.0.0.2", None), (["unhashable"],)]
    assert made == [("127.0.0.1", None), ("127.0.0.2", None), (["unhashable"],)]


class Unkeyable:
    def __hash__(self) -> int:
        raise ValueError("no hash")


def test_a_fault_in_the_lookup_thread_reaches_the_session_and_the_thread_goes_on() -> None:
    lookups = Lookups()
    try:
        with pytest.raises(ValueError, match="no hash"):
            asyncio.run(lookups.run(repr, Unkeyable()))
        assert asyncio.run(lookups.run(len, "abc")) == 3
    finally:
        lookups.close()
