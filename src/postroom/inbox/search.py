"""Inbox search: the parsed query (postroom.inbox.query) applied to a queryset of messages.

Words use the database's full-text index (see postroom.inbox.fulltext), never a scan of the
rows; words match as prefixes, so ``ship`` finds "shipped" and ``alice`` finds alice@example.com.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from django.db import connections
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from postroom.inbox import totals
from postroom.inbox.fulltext import TABLE
from postroom.inbox.query import Query, Term, parse

_SQLITE_COLUMNS = {"from": "sender", "to": "recipients", "subject": "subject"}
_POSTGRES_WEIGHTS = {"from": "A", "to": "B", "subject": "C"}
_FALLBACK_FIELDS = {
    "from": ("from_header", "envelope_sender"),
    "to": ("to_header", "envelope_recipients"),
    "subject": ("subject",),
    None: (
        "from_header",
        "envelope_sender",
        "to_header",
        "envelope_recipients",
        "subject",
        "body_text",
    ),
}


def search(queryset: QuerySet, q: str) -> QuerySet:
    """``queryset`` narrowed to the messages matching the search ``q`` (empty: all of them)."""
    return apply(queryset, parse(q or ""))


def apply(queryset: QuerySet, query: Query) -> QuerySet:
    if query.has_attachment:
        queryset = queryset.filter(has_attachments=True)
    if query.unread is not None:
        queryset = queryset.filter(read_at__isnull=query.unread)
    if query.after is not None:
        queryset = queryset.filter(received_at__gte=_midnight(query.after))
    if query.before is not None:
        queryset = queryset.filter(received_at__lt=_midnight(query.before))
    if not query.terms:
        return queryset
    vendor = connections[queryset.db].vendor
    if vendor == "sqlite":
        return queryset.filter(_condition(_SQLITE_MATCH, fts5_match(query.terms)))
    if vendor == "postgresql":
        return queryset.filter(_condition(_POSTGRES_MATCH, tsquery(query.terms)))
    return queryset.filter(_substrings(query.terms))  # another database: slow but right


# The unary + keeps SQLite from looking each hit up by id and sorting them all by time (2.5 s
# for a word in every message); it walks the list index newest first and keeps the ids the
# index found, so the first page costs one pass over the hits and 50 rows.
_SQLITE_HITS = "SELECT rowid FROM inbox_search WHERE inbox_search MATCH %s"
_SQLITE_MATCH = f"+{TABLE}.id IN ({_SQLITE_HITS})"
_POSTGRES_MATCH = f"{TABLE}.search_vector @@ to_tsquery('simple'::regconfig, %s)"


def count(queryset: QuerySet, q: str, at_most: int | None = None) -> int:
    """How many messages ``search(queryset, q)`` finds, without counting rows where it can:
    all of them are in the totals, and words alone are counted in the full-text index.

    With ``at_most``, a search stops counting past it (and answers ``at_most + 1``): a word in
    every message would have every hit counted, and PostgreSQL reads every row's words for it.
    ``queryset`` must be all the messages: the totals and the index know no other narrowing.
    """
    query = parse(q or "")
    if query.empty:
        return totals.read(queryset.db).messages
    words_only = query.terms and query == Query(terms=query.terms)
    connection = connections[queryset.db]
    if words_only and connection.vendor == "sqlite":
        limit = "" if at_most is None else f" LIMIT {int(at_most) + 1}"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM ({_SQLITE_HITS}{limit})",  # noqa: S608
                [fts5_match(query.terms)],
            )
            return cursor.fetchone()[0]
    found = apply(queryset, query).order_by()
    return (found if at_most is None else found[: at_most + 1]).count()


def _condition(sql: str, parameter: str) -> RawSQL:
    """A WHERE condition on the index; the user's words travel as a bound parameter only."""
    return RawSQL(sql, [parameter], output_field=BooleanField())  # noqa: S611


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def fts5_match(terms: list[Term]) -> str:
    """An FTS5 MATCH expression; words are letters and digits only, so quoting is safe."""
    parts = []
    for term in terms:
        phrase = (
            f'"{" ".join(term.words)}" *'
            if term.phrase
            else " AND ".join(f'"{word}" *' for word in term.words)
        )
        column = _SQLITE_COLUMNS.get(term.field or "")
        parts.append(f"{{{column}}} : ({phrase})" if column else f"({phrase})")
    return " AND ".join(parts)


def tsquery(terms: list[Term]) -> str:
    """A PostgreSQL tsquery; every word a prefix, restricted by weight for a field."""
    parts = []
    for term in terms:
        weight = _POSTGRES_WEIGHTS.get(term.field or "", "")
        words = [f"{word}:*{weight}" for word in term.words]
        parts.append("(" + (" <-> " if term.phrase else " & ").join(words) + ")")
    return " & ".join(parts)


def _substrings(terms: list[Term]) -> Q:
    condition = Q()
    for term in terms:
        for word in term.words:
            either = Q()
            for name in _FALLBACK_FIELDS[term.field]:
                either |= Q(**{f"{name}__icontains": word})
            condition &= either
    return condition
