"""How many messages the inbox holds, how many are unread and their bytes: kept by the database.

Counting 50,000 rows for every page (the pager, the unread badge) and summing their sizes
before every store (the catcher's quota) cost tens of milliseconds each. Instead, triggers keep
one row of totals (``CaughtTotals``, id 1) in step with every insert, delete and change of read
state or size, whichever code makes it: the catcher, the screens, the API, retention, a bulk
delete. Reading the totals is one primary-key lookup.

When the row is missing (a new database, a test's flush, a table rebuilt by a later migration)
the next reader counts the messages once and puts it back, with writers held off meanwhile so
that no message is counted twice or not at all.
"""
# ruff: noqa: S608 -- every statement here is built from constant names, never from data

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Sum

from postroom.inbox.fulltext import TABLE

TOTALS = "inbox_caughttotals"
_SQLITE_DELTA = "UPDATE " + TOTALS + " SET {changes} WHERE id = 1"
_SQLITE = [
    f"CREATE TRIGGER IF NOT EXISTS inbox_totals_insert AFTER INSERT ON {TABLE} BEGIN "
    + _SQLITE_DELTA.format(
        changes="messages = messages + 1, unread = unread + (new.read_at IS NULL), "
        "bytes = bytes + new.size"
    )
    + "; END",
    f"CREATE TRIGGER IF NOT EXISTS inbox_totals_delete AFTER DELETE ON {TABLE} BEGIN "
    + _SQLITE_DELTA.format(
        changes="messages = messages - 1, unread = unread - (old.read_at IS NULL), "
        "bytes = bytes - old.size"
    )
    + "; END",
    f"CREATE TRIGGER IF NOT EXISTS inbox_totals_update AFTER UPDATE OF read_at, size ON {TABLE} "
    "BEGIN "
    + _SQLITE_DELTA.format(
        changes="unread = unread + (new.read_at IS NULL) - (old.read_at IS NULL), "
        "bytes = bytes + new.size - old.size"
    )
    + "; END",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS inbox_totals_insert",
    "DROP TRIGGER IF EXISTS inbox_totals_delete",
    "DROP TRIGGER IF EXISTS inbox_totals_update",
]

# PostgreSQL: one trigger per statement, with the rows it changed as transition tables, so a
# bulk delete of 50,000 messages updates the totals once, not 50,000 times.
_UNREAD = "count(*) FILTER (WHERE read_at IS NULL)"
_POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION inbox_totals_keep() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    added_messages bigint := 0; added_unread bigint := 0; added_bytes bigint := 0;
    gone_messages bigint := 0; gone_unread bigint := 0; gone_bytes bigint := 0;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT count(*), {_UNREAD}, coalesce(sum(size), 0)
          INTO added_messages, added_unread, added_bytes FROM added;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        SELECT count(*), {_UNREAD}, coalesce(sum(size), 0)
          INTO gone_messages, gone_unread, gone_bytes FROM gone;
    END IF;
    IF added_messages <> gone_messages OR added_unread <> gone_unread
       OR added_bytes <> gone_bytes THEN
        UPDATE {TOTALS} SET messages = messages + added_messages - gone_messages,
            unread = unread + added_unread - gone_unread,
            bytes = bytes + added_bytes - gone_bytes
        WHERE id = 1;
    END IF;
    RETURN NULL;
END $$
"""
_POSTGRES = [
    _POSTGRES_FUNCTION,
    f"CREATE OR REPLACE TRIGGER inbox_totals_insert AFTER INSERT ON {TABLE} "
    "REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION inbox_totals_keep()",
    f"CREATE OR REPLACE TRIGGER inbox_totals_delete AFTER DELETE ON {TABLE} "
    "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION inbox_totals_keep()",
    f"CREATE OR REPLACE TRIGGER inbox_totals_update AFTER UPDATE ON {TABLE} "
    "REFERENCING OLD TABLE AS gone NEW TABLE AS added FOR EACH STATEMENT "
    "EXECUTE FUNCTION inbox_totals_keep()",
]
_POSTGRES_DROP = [
    f"DROP TRIGGER IF EXISTS inbox_totals_insert ON {TABLE}",
    f"DROP TRIGGER IF EXISTS inbox_totals_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS inbox_totals_update ON {TABLE}",
    "DROP FUNCTION IF EXISTS inbox_totals_keep()",
]
_READ = f"SELECT messages, unread, bytes FROM {TOTALS} WHERE id = 1"
_TRIGGERS = {"sqlite": _SQLITE, "postgresql": _POSTGRES}
# "WHERE true": SQLite's parser needs it between INSERT ... SELECT and ON CONFLICT.
_RECOUNT = (
    f"INSERT INTO {TOTALS} (id, messages, unread, bytes) "
    "SELECT 1, count(*), coalesce(sum(CASE WHEN read_at IS NULL THEN 1 ELSE 0 END), 0), "
    f"coalesce(sum(size), 0) FROM {TABLE} WHERE true ON CONFLICT (id) DO NOTHING"
)


@dataclass(frozen=True)
class Totals:
    messages: int
    unread: int
    bytes: int


def read(using: str = "default") -> Totals:
    """The inbox's totals: one row read, or (rarely) the messages counted once."""
    from postroom.inbox.models import CaughtMessage

    if connections[using].vendor not in _TRIGGERS:  # no triggers keep the row: count
        return Totals(
            CaughtMessage.objects.using(using).count(),
            CaughtMessage.objects.using(using).unread().count(),
            CaughtMessage.objects.using(using).aggregate(total=Sum("size"))["total"] or 0,
        )
    with connections[using].cursor() as cursor:  # plain SQL: the catcher reads it per message
        cursor.execute(_READ)
        found = cursor.fetchone()
        if found is None:
            recount(connections[using])
            cursor.execute(_READ)
            found = cursor.fetchone()
    return Totals(*found)


def recount(connection: BaseDatabaseWrapper, *, replace: bool = False) -> None:
    """Count the messages into the totals row (when it is missing, or always with ``replace``).

    Writers wait meanwhile: SQLite's write lock (IMMEDIATE transactions), or on PostgreSQL a
    lock that lets readers on but no insert, delete or update of the messages.
    """
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {TABLE} IN SHARE MODE")
        if replace:
            cursor.execute(f"DELETE FROM {TOTALS}")
        cursor.execute(_RECOUNT)


def ensure(connection: BaseDatabaseWrapper) -> None:
    """Create the triggers where they are missing and count the totals afresh."""
    if connection.vendor not in _TRIGGERS:
        return
    if TOTALS not in connection.introspection.table_names():
        return  # migrated back to before the totals: nothing to keep
    with connection.cursor() as cursor:
        for statement in _TRIGGERS[connection.vendor]:
            cursor.execute(statement)
    recount(connection, replace=True)


def drop(connection: BaseDatabaseWrapper) -> None:
    statements = {"sqlite": _SQLITE_DROP, "postgresql": _POSTGRES_DROP}.get(connection.vendor, [])
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
