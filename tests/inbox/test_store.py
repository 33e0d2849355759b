"""The catcher's own way of storing a message keeps what the ORM's would: row, index, totals."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from emails import make_email
from postroom.emailview import decoding, parsing
from postroom.inbox import fulltext, totals
from postroom.inbox.models import CaughtMessage
from postroom.inbox.search import search

pytestmark = pytest.mark.django_db


def _samples() -> list[bytes]:
    rich = make_email(
        "Café ünïcode — order",
        sender="Shop <shop@example.net>",
        to="Ann <ann@example.org>, bob@example.org",
        text="Tracking\u00a0number 123\u2028for order\x0b7 \x1c end\x00zero",
        html="<p>Holiday&nbsp;<b>pictures</b> &amp; more</p>\u3000<div>gone</div>",
    )
    rich.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="a.png")
    return [
        rich.as_bytes(),
        make_email("Plain", text="one\r\n\r\n  two\t three  ").as_bytes(),
        b"no headers at all, just words",
        b"",
    ]


def _columns(message: CaughtMessage) -> dict[str, object]:
    row = CaughtMessage.objects.filter(pk=message.pk).values().get()
    row.pop("id")
    row["raw"] = bytes(row["raw"])
    # As stored, too: the quota and retention order by it in SQL.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CAST(received_at AS TEXT) FROM inbox_caughtmessage WHERE id = %s",
            [message.pk],
        )
        row["received_at as stored"] = cursor.fetchone()[0]
    return row


def _insert(message: CaughtMessage, way: str) -> None:
    """Store ``message`` by one of the catcher's two inserts (the second within a quota)."""
    if way == "insert":
        message.insert()
    else:
        totals.read()  # the totals row, which a test's flush removed
        assert message.insert_within(1000, 1 << 30)


@pytest.mark.parametrize("way", ["insert", "insert_within"])
def test_an_insert_stores_the_row_that_save_stores(way: str) -> None:
    received = timezone.now() - timedelta(minutes=5)
    for raw in _samples():
        recipients = ["ann@example.org", "hidden@example.org"]
        saved = CaughtMessage.from_envelope("app@example.com", recipients, raw)
        inserted = CaughtMessage.from_envelope("app@example.com", recipients, raw)
        saved.received_at = inserted.received_at = received
        saved.save()
        _insert(inserted, way)
        assert inserted.pk is not None and inserted.pk > saved.pk
        assert not inserted._state.adding
        assert _columns(inserted) == _columns(saved)
        assert CaughtMessage.objects.get(pk=inserted.pk).outline() == parsing.outline(
            raw, recipients
        )
    assert totals.read().messages == 2 * len(_samples())


def test_insert_within_stores_nothing_beyond_the_quota_or_without_totals() -> None:
    raw = _samples()[1]
    first = CaughtMessage.from_envelope("app@example.com", ["ann@example.org"], raw)
    totals.read()
    assert first.insert_within(2, 2 * len(raw))
    fits = CaughtMessage.from_envelope("app@example.com", ["ann@example.org"], raw)
    assert not fits.insert_within(1, 1 << 30), "one message more than the count"
    assert not fits.insert_within(10, 2 * len(raw) - 1), "one byte more than the size"
    assert fits.pk is None and fits._state.adding
    assert CaughtMessage.objects.count() == 1
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {totals.TOTALS}")  # noqa: S608 - a constant
    assert not fits.insert_within(10, 1 << 30), "nothing known of what is kept"
    totals.read()  # counted again
    assert fits.insert_within(2, 2 * len(raw))
    assert CaughtMessage.objects.count() == 2


@pytest.mark.parametrize("way", ["insert", "insert_within"])
def test_an_inserted_message_is_found_and_counted(way: str) -> None:
    message = CaughtMessage.from_envelope("app@example.com", ["ann@example.org"], _samples()[0])
    _insert(message, way)
    for words in ("pictures", "holiday", "tracking 123", "from:shop", "order"):
        assert list(search(CaughtMessage.objects.all(), words)) == [message], words
    assert totals.read() == totals.Totals(1, 1, len(_samples()[0]))
    message.read_at = timezone.now()
    message.save()
    assert totals.read().unread == 0


def _body_text_as_before(raw: bytes, found: parsing.Outline) -> str:
    """fulltext.body_text as it was, with one regular expression for the spaces."""
    pieces = []
    for span, is_html in ((found.text, False), (found.html, True)):
        if span is None:
            continue
        limit = fulltext.BODY_TEXT_LIMIT
        text, _ = decoding.body_text(span, raw[slice(*decoding.fetch_limit(span, limit))], limit)
        pieces.append(html.unescape(re.sub(r"<[^<>]*>", " ", text)) if is_html else text)
    words = " ".join(pieces).replace("\x00", " ")
    return re.sub(r"\s+", " ", words).strip()[: fulltext.BODY_TEXT_LIMIT * 2]


def test_body_words_are_those_found_before() -> None:
    spaces = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
    odd = make_email(text=f"{spaces}a{spaces}b\x00{spaces}", html=f"<i>x</i>{spaces}y&#x2029;z")
    for raw in [*_samples(), odd.as_bytes()]:
        found = parsing.outline(raw)
        assert fulltext.body_text(raw, found) == _body_text_as_before(raw, found)
    found = parsing.outline(odd.as_bytes())
    assert fulltext.body_text(odd.as_bytes(), found) == "a b x y z"
