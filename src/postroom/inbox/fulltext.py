"""The full-text index of caught messages, kept by the database itself.

- SQLite: an FTS5 table ``inbox_search`` (rowid = message id) kept in step by triggers.
- PostgreSQL: a stored generated ``search_vector`` column with a GIN index; the fields are
  weighted A (sender), B (recipients), C (subject), D (body) so ``from:`` etc. can use weights.

Django rebuilds a SQLite table (and drops its triggers) when a later migration alters it, so
``ensure`` runs after every migrate and puts triggers and index back, idempotently.
"""
# ruff: noqa: S608 -- every statement here is built from constant names, never from data

from __future__ import annotations

import html
import re

from django.db.backends.base.base import BaseDatabaseWrapper

from postroom.emailview import decoding, parsing

TABLE = "inbox_caughtmessage"
BODY_TEXT_LIMIT = 64 * 1024  # characters of the body indexed; enough for any real mail
_COLUMNS = "sender, recipients, subject, body"
_VALUES = (
    "{row}.id, {row}.from_header || ' ' || {row}.envelope_sender, "
    "{row}.to_header || ' ' || {row}.envelope_recipients, {row}.subject, {row}.body_text"
)
_SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS inbox_search USING fts5("
    f"{_COLUMNS}, tokenize='unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS inbox_search_insert AFTER INSERT ON {TABLE} BEGIN "
    f"INSERT INTO inbox_search(rowid, {_COLUMNS}) VALUES ({_VALUES.format(row='new')}); END",
    f"CREATE TRIGGER IF NOT EXISTS inbox_search_delete AFTER DELETE ON {TABLE} BEGIN "
    "DELETE FROM inbox_search WHERE rowid = old.id; END",
    "CREATE TRIGGER IF NOT EXISTS inbox_search_update AFTER UPDATE OF from_header, "
    f"envelope_sender, to_header, envelope_recipients, subject, body_text ON {TABLE} BEGIN "
    "DELETE FROM inbox_search WHERE rowid = old.id; "
    f"INSERT INTO inbox_search(rowid, {_COLUMNS}) VALUES ({_VALUES.format(row='new')}); END",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS inbox_search_insert",
    "DROP TRIGGER IF EXISTS inbox_search_delete",
    "DROP TRIGGER IF EXISTS inbox_search_update",
    "DROP TABLE IF EXISTS inbox_search",
]


def _words(column: str) -> str:
    # Split addresses into words as the query parser does (postroom.inbox.query.words_of).
    return f"regexp_replace(coalesce({column}, ''), '[^[:alnum:]_]+', ' ', 'g')"


_VECTOR = " || ".join(
    f"setweight(to_tsvector('simple'::regconfig, {_words(columns)}), '{weight}')"
    for columns, weight in (
        ("from_header || ' ' || envelope_sender", "A"),
        ("to_header || ' ' || envelope_recipients", "B"),
        ("subject", "C"),
        ("body_text", "D"),
    )
)
_POSTGRES = [
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS search_vector tsvector "
    f"GENERATED ALWAYS AS ({_VECTOR}) STORED",
    f"CREATE INDEX IF NOT EXISTS inbox_caught_search ON {TABLE} USING gin (search_vector)",
]
_POSTGRES_DROP = [
    "DROP INDEX IF EXISTS inbox_caught_search",
    f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS search_vector",
]


def ensure(connection: BaseDatabaseWrapper) -> None:
    """Create the index (and fill it from existing rows) where it is missing."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in _SQLITE:
                cursor.execute(statement)
            cursor.execute(
                f"SELECT (SELECT count(*) FROM {TABLE}), (SELECT count(*) FROM inbox_search)"
            )
            messages, indexed = cursor.fetchone()
            if messages != indexed:
                cursor.execute("DELETE FROM inbox_search")
                cursor.execute(
                    f"INSERT INTO inbox_search(rowid, {_COLUMNS}) "
                    f"SELECT {_VALUES.format(row=TABLE)} FROM {TABLE}"
                )
        elif connection.vendor == "postgresql":
            for statement in _POSTGRES:
                cursor.execute(statement)


# PostgreSQL plans a search by its statistics of the words: without them it may walk every
# message newest first, reading each one's words, for a word that is in none (a second at
# 50,000). Autovacuum keeps them, when it is on and keeps up; the retention chore makes sure.
STALE_ROWS = 500  # and a tenth of the rows changed since the last ANALYZE: as autovacuum's rule


def analyze_if_stale(connection: BaseDatabaseWrapper) -> bool:
    """Refresh PostgreSQL's statistics of the messages when many changed since; True if it did."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_live_tup, n_mod_since_analyze FROM pg_stat_user_tables "
            "WHERE relid = %s::regclass",
            [TABLE],
        )
        found = cursor.fetchone()
        if found is None or found[1] < STALE_ROWS + found[0] // 10:
            return False
        cursor.execute(f"ANALYZE {TABLE}")
    return True


def drop(connection: BaseDatabaseWrapper) -> None:
    statements = {"sqlite": _SQLITE_DROP, "postgresql": _POSTGRES_DROP}.get(connection.vendor, [])
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


_TAG = re.compile(r"<[^<>]*>")  # stops at the next "<": linear even on "<<<<..."


def body_text(raw: bytes, found: parsing.Outline) -> str:
    """The words of the body to index: the text part and the HTML part without its tags."""
    pieces = []
    for span, is_html in ((found.text, False), (found.html, True)):
        if span is None:
            continue
        text, _ = decoding.body_text(
            span, raw[slice(*decoding.fetch_limit(span, BODY_TEXT_LIMIT))], BODY_TEXT_LIMIT
        )
        pieces.append(html.unescape(_TAG.sub(" ", text)) if is_html else text)
    # NUL is no word, and PostgreSQL's text columns refuse it. split() cuts at what "\s"
    # matches, as one regex substitution did, at a fraction of its cost (a test compares).
    words = " ".join(pieces).replace("\x00", " ")
    return " ".join(words.split())[: BODY_TEXT_LIMIT * 2]
