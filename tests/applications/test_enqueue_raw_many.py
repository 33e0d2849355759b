"""Whole messages queued many at a time (the relay's group commit), and the provider echo
headers and suppression notice every raw message gets, as enqueue() gives its own."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from postroom.applications import credentials
from postroom.delivery import wakeup
from postroom.delivery.enqueue import RawMail, enqueue_raw, enqueue_raw_many, parse_head
from postroom.delivery.models import Kind, OutboxMessage
from postroom.delivery.suppression import suppress

pytestmark = pytest.mark.django_db(transaction=True)

GENERIC_SECRET = "generic-hmac-secret-0123456789"
MAILGUN_KEY = "mailgun-signing-key-0123456789"


def raw(subject: str, extra: str = "", message_id: bool = True) -> bytes:
    head = f"From: Shop <shop@example.org>\r\nTo: ann@example.net\r\nSubject: {subject}\r\n"
    if message_id:
        head += f"Message-ID: <{subject.replace(' ', '.')}@example.org>\r\n"
    return (head + extra + "\r\nHello\r\n").encode()


def item(subject: str, **changes) -> RawMail:
    values = {"raw": raw(subject), "sender": "shop@example.org", "recipients": ["ann@example.net"]}
    return RawMail(**{**values, **changes})


def test_a_batch_is_one_insert_and_each_row_is_as_enqueue_raw_makes_it():
    app, _ = credentials.create_application("Shop", ["example.org"])
    items = [
        item(f"Order {n}", recipients=["ann@example.net", "hidden@example.net"], application=app)
        for n in range(5)
    ]
    with CaptureQueriesContext(connection) as queries:
        rows = enqueue_raw_many(items)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    single = enqueue_raw(
        raw("Order 0"),
        "shop@example.org",
        ["ann@example.net", "hidden@example.net"],
        application=app,
    )
    stored = {row.pk: row for row in OutboxMessage.objects.all()}
    assert all(row.pk in stored for row in rows)  # the ids are known at once
    for n, row in enumerate(rows):
        row = stored[row.pk]
        assert bytes(row.raw) == raw(f"Order {n}")
        assert (row.to, row.bcc, row.subject) == (
            "ann@example.net",
            "hidden@example.net",
            f"Order {n}",
        )
        assert row.kind == Kind.RELAY and row.application == app
        assert len(row.tracking_id) == 24
    fields = ("kind", "channel", "sender", "to", "cc", "bcc", "status", "notice", "application_id")
    first = stored[rows[0].pk]
    assert [getattr(first, f) for f in fields] == [getattr(stored[single.pk], f) for f in fields]
    assert len({row.tracking_id for row in stored.values()}) == 6


def test_the_workers_are_woken_once_for_the_batch(monkeypatch):
    woken: list[str] = []
    monkeypatch.setattr(wakeup._event, "set", lambda: woken.append("woken"))
    enqueue_raw_many([item("One"), item("Two"), item("Three")])
    assert woken == ["woken"]


def test_one_bad_item_stores_none_of_the_batch():
    with pytest.raises(ValueError, match="recipient"):
        enqueue_raw_many([item("Good"), item("Bad", recipients=[])])
    assert OutboxMessage.objects.count() == 0


def test_headers_parsed_by_the_caller_are_used_as_given():
    parsed = parse_head(raw("Parsed by the relay"))
    (row,) = enqueue_raw_many([item("Not parsed again", headers=parsed)])
    assert row.subject == "Parsed by the relay"


def test_the_head_is_parsed_without_the_body():
    message = b"Subject: Hi\r\n\r\nSubject: not a header\r\n"
    assert parse_head(message).get_all("Subject") == ["Hi"]


def test_without_a_provider_the_bytes_are_as_received(monkeypatch):
    monkeypatch.delenv("Postroom__Events__Generic__Secret", raising=False)
    row = enqueue_raw(raw("Plain"), "shop@example.org", ["ann@example.net"])
    assert bytes(row.raw) == raw("Plain")
    assert row.tracking_id  # kept for matching all the same, as enqueue() does


def test_a_configured_provider_gets_its_echo_headers_in_front(monkeypatch):
    monkeypatch.setenv("Postroom__Events__Generic__Secret", GENERIC_SECRET)
    monkeypatch.setenv("Postroom__Events__Mailgun__SigningKey", MAILGUN_KEY)
    rows = enqueue_raw_many([item("One", raw=raw("One", message_id=False)), item("Two")])
    for row, subject in zip(rows, ("One", "Two"), strict=True):
        stored = bytes(OutboxMessage.objects.get(pk=row.pk).raw)
        headers = parse_head(stored)
        assert headers["X-Postroom-Id"] == row.tracking_id
        assert headers["X-Mailgun-Variables"] == f'{{"postroom_id": "{row.tracking_id}"}}'
        assert headers["Message-ID"] == row.message_id
        assert stored.endswith(raw(subject, message_id=subject == "Two"))
    assert rows[0].tracking_id != rows[1].tracking_id


def test_the_senders_own_echo_header_wins(monkeypatch):
    monkeypatch.setenv("Postroom__Events__Generic__Secret", GENERIC_SECRET)
    own = raw("Own", extra="X-Postroom-Id: chosen-by-the-application\r\n")
    row = enqueue_raw(own, "shop@example.org", ["ann@example.net"])
    assert bytes(row.raw) == own
    assert parse_head(bytes(row.raw)).get_all("X-Postroom-Id") == ["chosen-by-the-application"]


def test_a_raw_invitation_to_a_suppressed_address_carries_the_notice():
    suppress("ann@example.net", "hard_bounce")
    invite, relayed = enqueue_raw_many(
        [item("Invite", kind=Kind.INVITE), item("Relayed", kind=Kind.RELAY)]
    )
    assert "suppression list" in invite.notice and "ann@example.net" in invite.notice
    assert OutboxMessage.objects.get(pk=invite.pk).notice == invite.notice
    assert relayed.notice == ""


def test_a_batch_over_sqlites_parameter_limit_keeps_each_id_with_its_message():
    items = [item(f"Order {n}") for n in range(120)]  # 120 rows: over 999 parameters
    rows = enqueue_raw_many(items)
    stored = {row.pk: row for row in OutboxMessage.objects.all()}
    assert len(stored) == 120
    for n, row in enumerate(rows):
        assert stored[row.pk].subject == row.subject == f"Order {n}"
        assert stored[row.pk].tracking_id == row.tracking_id
