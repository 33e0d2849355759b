"""Search against the database's full-text index (FTS5 on SQLite, tsvector on PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from emails import make_email
from postroom.inbox import fulltext
from postroom.inbox.models import CaughtMessage
from postroom.inbox.search import search

from .conftest import store

pytestmark = pytest.mark.django_db


def subjects(q: str) -> list[str]:
    return sorted(m.subject for m in search(CaughtMessage.objects.all(), q))


@pytest.fixture
def mail() -> None:
    store(make_email("Your order has shipped", text="Tracking number 123 for order 7").as_bytes())
    store(
        make_email("Invoice", sender="Shop <shop@example.net>", text="Please pay").as_bytes(),
        minutes_ago=60 * 24 * 40,
    )
    with_file = make_email(
        "Photos", to="ann.lee@example.org", html="<p>Holiday <b>pictures</b></p>"
    )
    with_file.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="a.png")
    store(with_file.as_bytes())


def test_words_in_any_order_across_subject_and_body(mail: None) -> None:
    assert subjects("shipped order") == ["Your order has shipped"]
    assert subjects("order shipped") == ["Your order has shipped"]
    assert subjects("tracking") == ["Your order has shipped"]  # only in the body
    assert subjects("pictures") == ["Photos"]  # only in the HTML body, tags stripped
    assert subjects("ship") == ["Your order has shipped"]  # words match as prefixes
    assert subjects("shipped missing") == []


def test_phrases_keep_word_order(mail: None) -> None:
    assert subjects('"tracking number"') == ["Your order has shipped"]
    assert subjects('"number tracking"') == []


def test_field_operators(mail: None) -> None:
    assert subjects("from:shop@example.net") == ["Invoice"]
    assert subjects("from:shop") == ["Invoice"]
    assert subjects("to:ann.lee") == ["Photos"]
    assert subjects("to:shop") == []
    assert subjects("subject:order") == ["Your order has shipped"]
    assert subjects("subject:tracking") == []  # in the body, not the subject


def test_flags_and_dates(mail: None) -> None:
    assert subjects("has:attachment") == ["Photos"]
    CaughtMessage.objects.filter(subject="Photos").update(read_at=timezone.now())
    assert subjects("is:unread") == ["Invoice", "Your order has shipped"]
    assert subjects("is:read") == ["Photos"]
    today = timezone.now().date()
    assert subjects(f"before:{today - timedelta(days=30)}") == ["Invoice"]
    assert subjects(f"after:{today - timedelta(days=30)}") == ["Photos", "Your order has shipped"]


def test_nonsense_never_fails(mail: None) -> None:
    for q in [
        '"',
        "::",
        'from:"',
        "AND OR NOT",
        "NEAR(a b)",
        "*",
        "a* -b ^c",
        "before:x",
        "é ß 漢字",
    ]:
        list(search(CaughtMessage.objects.all(), q))


def test_index_follows_deletes_and_edits(mail: None) -> None:
    CaughtMessage.objects.filter(subject="Invoice").update(subject="Receipt")
    assert subjects("invoice") == []
    assert subjects("receipt") == ["Receipt"]
    CaughtMessage.objects.filter(subject="Receipt").delete()
    assert subjects("receipt") == [] and subjects("pay") == []


def test_index_is_rebuilt_after_the_table_is(mail: None) -> None:
    """A migration that rebuilds the table drops SQLite triggers; post_migrate restores them."""
    fulltext.drop(connection)
    fulltext.ensure(connection)
    assert subjects("tracking") == ["Your order has shipped"]
    store(make_email("Late arrival").as_bytes())
    assert subjects("late") == ["Late arrival"]


def test_search_is_not_a_scan(mail: None) -> None:
    sql = str(search(CaughtMessage.objects.all(), "shipped").query)
    assert "inbox_search" in sql or "search_vector" in sql
    assert "LIKE" not in sql.upper()


def test_postgresql_statistics_are_refreshed_when_many_messages_changed(monkeypatch) -> None:  # noqa: ANN001
    if connection.vendor != "postgresql":
        assert not fulltext.analyze_if_stale(connection)  # SQLite's FTS needs none
        return
    monkeypatch.setattr(fulltext, "STALE_ROWS", 10**9)
    assert not fulltext.analyze_if_stale(connection)
    monkeypatch.setattr(fulltext, "STALE_ROWS", -1)  # any change is many
    assert fulltext.analyze_if_stale(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [fulltext.TABLE])
        assert cursor.fetchone()[0] >= 0  # -1 until the table is first analyzed
