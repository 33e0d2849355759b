"""The search language parser: pure, never fails, linear in the input."""

from __future__ import annotations

import time
from datetime import date

from postroom.inbox.query import MAX_TERMS, Term, parse
from postroom.inbox.search import fts5_match, tsquery


def test_words_in_any_order_and_phrases() -> None:
    query = parse('shipped order "tracking number"')
    assert query.terms == [
        Term(("shipped",)),
        Term(("order",)),
        Term(("tracking", "number"), phrase=True),
    ]


def test_operators() -> None:
    query = parse(
        'from:shop@example.com to:"Ann Lee" subject:invoice has:attachment is:unread '
        "after:2026-01-31 before:2026-03-01"
    )
    assert query.terms == [
        Term(("shop", "example", "com"), "from", phrase=True),
        Term(("ann", "lee"), "to", phrase=True),
        Term(("invoice",), "subject"),
    ]
    assert query.has_attachment and query.unread is True
    assert (query.after, query.before) == (date(2026, 1, 31), date(2026, 3, 1))
    assert parse("is:read").unread is False


def test_bad_input_becomes_words_or_is_noted() -> None:
    query = parse('before:yesterday colour:red "unclosed phrase :: "" ::: "')
    assert query.ignored == ["before:yesterday"]
    assert Term(("colour", "red"), phrase=True) in query.terms
    assert Term(("unclosed", "phrase"), phrase=True) in query.terms
    assert parse("").empty and parse('   "" :: !!! ').empty


def test_terms_are_bounded() -> None:
    assert len(parse("word " * 1000).terms) == MAX_TERMS


def test_pathological_input_is_fast() -> None:
    for text in ['"' * 100_000, ":" * 100_000, "a:" * 50_000, "x" * 100_000, '"a' * 50_000]:
        started = time.perf_counter()
        parse(text)
        assert time.perf_counter() - started < 0.1


def test_database_expressions_quote_only_words() -> None:
    terms = parse('from:a.b@x.org "big deal" hi').terms
    assert fts5_match(terms) == '{sender} : ("a b x org" *) AND ("big deal" *) AND ("hi" *)'
    assert tsquery(terms) == ("(a:*A <-> b:*A <-> x:*A <-> org:*A) & (big:* <-> deal:*) & (hi:*)")
