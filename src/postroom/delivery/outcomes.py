"""Recording what happened to each message: one attempt row and the message's new state.

The two are committed together, once per message, before the next message's content goes out:
that is what leaves a killed worker at most one duplicate. The SQL is written by hand because
this runs for every message, and building the ORM queries cost more than running them.

On PostgreSQL the write is sent without waiting for its answer. The worker waits for it
(:meth:`OutcomeWriter.flush`) only right before the next message's content goes out, so the
database commits while the worker reads the server's replies and prepares the next message.
Even a worker killed at the worst moment leaves only the last accepted message without its
outcome.
"""

from __future__ import annotations

import contextlib
import functools
import json
import select
import sqlite3
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, OperationalError, connections, transaction

from postroom.delivery.models import DeliveryAttempt, OutboxMessage
from postroom.delivery.sockets import wait_for

ZERO = timedelta(0)
DEFAULT_TIMEOUT = 30.0  # seconds to wait for the database to confirm one outcome


class OutcomeNotSaved(DatabaseError):
    """The database did not confirm an outcome: the worker stops this batch, loses nothing."""


class LeaseLost(OutcomeNotSaved):
    """An outcome (or a renewal) found the message no longer held by this worker: its lease
    ran out and another worker may be sending the rest of the batch. The batch stops at once."""


def _locked_in_shared_cache(error: Exception) -> bool:
    """Whether SQLite refused at once because another connection to the same shared cache
    holds a lock (SQLITE_LOCKED): busy timeouts do not apply to those."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_LOCKED


def _roll_back(connection: Any) -> None:
    """End a failed outcome's transaction; a connection that cannot is closed, so that it
    cannot keep the write lock every other connection waits for."""
    driver = connection.connection
    try:
        if driver.in_transaction:
            driver.execute("ROLLBACK")
    except Exception as error:
        try:
            connection.close()  # (Django keeps an in-memory database open: tests only)
        finally:
            raise OutcomeNotSaved(f"SQLite could not roll back an outcome: {error}") from error


def _check_held(updated: int | None, message_pk: int, worker_id: str) -> None:
    if updated is not None and updated < 1:
        raise LeaseLost(
            f"The outcome of message {message_pk} updated no row: {worker_id} no longer holds"
            " it (its lease ran out), so the rest of its batch is left to whoever holds it now."
        )


class OutcomeWriter:
    """Writes outcomes for one worker; on PostgreSQL one message ahead of their confirmation."""

    def __init__(self, worker_id: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.worker_id = worker_id
        self.timeout = timeout
        self._alias = OutboxMessage.objects.db
        self._in_flight: Any = None  # the libpq connection a write awaits its answer on
        self._in_flight_pk = 0

    def write(self, message_pk: int, attempt: dict[str, Any], fields: dict[str, Any]) -> None:
        """Record ``attempt`` and set ``fields`` on the message while this worker holds it.

        The message is updated only while this worker still holds its claim (after a lost
        lease another worker has it); the attempt is recorded either way.
        """
        self.flush()
        connection = connections[self._alias]
        fields = {**fields, "claimed_by": "", "lease_expires_at": None}
        attempt_values = _prepared_all(DeliveryAttempt, attempt, connection)
        message_values = _prepared_all(OutboxMessage, fields, connection)
        params = [*attempt_values, *message_values, message_pk, self.worker_id]
        shape = (tuple(attempt), tuple(fields))
        if connection.in_atomic_block:  # inside a caller's transaction (sendtest, tests)
            with transaction.atomic(using=self._alias), connection.cursor() as cursor:
                insert, update = _statements(*shape, "%s")
                cursor.execute(insert, attempt_values)
                cursor.execute(update, params[len(attempt_values) :])
                updated = cursor.rowcount
            _check_held(updated, message_pk, self.worker_id)
            return
        # The driver's own connection: Django's cursor wrappers cost more than the statements.
        connection.ensure_connection()
        if connection.vendor == "postgresql":
            self._send(_statements(*shape, "$"), params)
            self._in_flight_pk = message_pk
            return
        statements = _statements(*shape, "?")
        updated = self._write_sqlite(connection, statements, attempt_values, params)
        _check_held(updated, message_pk, self.worker_id)

    def _write_sqlite(
        self,
        connection: Any,
        statements: tuple[str, str],
        attempt_values: list[Any],
        params: list[Any],
    ) -> int:
        """Commit one outcome; while a lock in SQLite's shared cache stops it, try again.

        A lock held by another connection of a file database is waited for by the busy
        timeout. In the shared cache (the in-memory databases of tests) the same lock fails at
        once, and an outcome given up on leaves its message waiting for its lease to run out.
        Nothing is committed until COMMIT, so trying the whole transaction again is safe.
        """
        driver, (insert, update) = connection.connection, statements
        deadline = time.monotonic() + self.timeout
        pause = 0.001
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                driver.execute(insert, attempt_values)
                updated = driver.execute(update, params[len(attempt_values) :]).rowcount
                driver.execute("COMMIT")  # deferred foreign keys are checked here
                return updated
            except BaseException as error:
                if not isinstance(error, Exception):  # stopping: the process ends anyway
                    with contextlib.suppress(Exception):
                        _roll_back(connection)
                    raise
                _roll_back(connection)
                if _locked_in_shared_cache(error) and time.monotonic() + pause < deadline:
                    time.sleep(pause)
                    pause = min(pause * 2, 0.05)
                    continue
                raise OutcomeNotSaved(f"SQLite did not store an outcome: {error}") from error

    def flush(self) -> None:
        """Wait until the outcome sent last is committed; raises OutcomeNotSaved if it is not."""
        pgconn, self._in_flight = self._in_flight, None
        if pgconn is None:
            return
        deadline = time.monotonic() + self.timeout
        problem = ""
        updated: int | None = None
        try:
            if self._current_pgconn() is not pgconn:
                raise OperationalError("the connection was closed before it answered")
            while True:
                if pgconn.is_busy():
                    if not wait_for(pgconn.socket, deadline - time.monotonic()):
                        raise OperationalError(f"no answer within {self.timeout:.0f} s")
                    pgconn.consume_input()
                    continue
                result = pgconn.get_result()
                if result is None:
                    break
                if result.error_message:
                    problem = result.error_message.decode(errors="replace").strip()
                else:
                    updated = result.command_tuples
        except Exception as error:
            self._abandon()
            raise OutcomeNotSaved(f"PostgreSQL did not confirm an outcome: {error}") from None
        if problem:
            raise OutcomeNotSaved(f"PostgreSQL refused an outcome: {problem}")
        _check_held(updated, self._in_flight_pk, self.worker_id)

    def _send(self, statements: tuple[str, str], params: list[Any]) -> None:
        insert, update = statements
        values = [None if value is None else _as_text(value) for value in params]
        deadline = time.monotonic() + self.timeout
        try:
            pgconn = self._current_pgconn()
            pgconn.send_query_params(f"WITH attempt AS ({insert}) {update}".encode(), values)
            # psycopg keeps libpq non-blocking: what did not fit in the socket waits to be sent.
            while pgconn.flush():
                events = wait_for(
                    pgconn.socket, deadline - time.monotonic(), readable=True, writable=True
                )
                if not events:
                    raise OperationalError(f"could not send within {self.timeout:.0f} s")
                if events & select.POLLIN:
                    pgconn.consume_input()
        except Exception as error:
            self._abandon()
            raise OutcomeNotSaved(f"Could not send an outcome to PostgreSQL: {error}") from None
        self._in_flight = pgconn

    def _current_pgconn(self) -> Any:
        driver = connections[self._alias].connection
        if driver is None:
            raise OperationalError("the connection is closed")
        return driver.pgconn

    def _abandon(self) -> None:
        """The connection's state is unknown: drop it, and Django opens a fresh one."""
        self._in_flight = None
        connections[self._alias].close()


@functools.cache
def _statements(
    attempt_fields: tuple[str, ...], message_fields: tuple[str, ...], style: str
) -> tuple[str, str]:
    """The INSERT of the attempt and the UPDATE of the message, with ``style`` placeholders."""
    count = len(attempt_fields) + len(message_fields) + 2
    marks = [f"${n}" for n in range(1, count + 1)] if style == "$" else [style] * count
    attempt_marks, set_marks = marks[: len(attempt_fields)], marks[len(attempt_fields) :]
    quote = connections[OutboxMessage.objects.db].ops.quote_name
    insert = (
        f"INSERT INTO {DeliveryAttempt._meta.db_table} "  # noqa: S608 (names, not data)
        f"({', '.join(quote(_field(DeliveryAttempt, name).column) for name in attempt_fields)}) "
        f"VALUES ({', '.join(attempt_marks)})"
    )
    columns = [_field(OutboxMessage, name).column for name in message_fields]
    pairs = zip(columns, set_marks[: len(columns)], strict=True)
    assignments = ", ".join(f"{quote(column)} = {mark}" for column, mark in pairs)
    update = (
        f"UPDATE {OutboxMessage._meta.db_table} SET {assignments}"  # noqa: S608
        f" WHERE id = {set_marks[-2]} AND claimed_by = {set_marks[-1]}"
    )
    return insert, update


@functools.cache
def _field(model: type, name: str) -> Any:
    return model._meta.get_field(name)


_AS_IS = (str, int, bool, type(None))


def _prepared_all(model: type, values: dict[str, Any], connection: Any) -> list[Any]:
    """``values`` as the database takes them; most are text or numbers, kept as they are."""
    return [
        value if type(value) in _AS_IS else _prepared(model, name, value, connection)
        for name, value in values.items()
    ]


def _prepared(model: type, name: str, value: Any, connection: Any) -> Any:
    if value is None or isinstance(value, str | int):  # bool is an int too
        return value
    if isinstance(value, datetime):
        if connection.vendor == "sqlite" and value.utcoffset() == ZERO and _in_utc(connection):
            # What the SQLite backend stores for it, without its time zone conversion (three
            # datetimes an outcome, each costing more than the rest of the values together).
            return str(value.replace(tzinfo=None))
        return connection.ops.adapt_datetimefield_value(value)
    field = _field(model, name)
    if field.get_internal_type() == "JSONField":
        return json.dumps(value, cls=field.encoder)
    return field.get_db_prep_save(value, connection)


def _in_utc(connection: Any) -> bool:
    return connection.timezone_name == "UTC"


def _as_text(value: Any) -> bytes:
    """A parameter in PostgreSQL's text format; the server infers each one's type."""
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, datetime):
        return value.isoformat().encode()
    return str(value).encode()
