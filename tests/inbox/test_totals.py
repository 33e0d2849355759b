"""The inbox's totals (messages, unread, bytes) follow every change, whoever makes it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from emails import make_email
from postroom.inbox import search, totals
from postroom.inbox.models import CaughtMessage, CaughtTotals
from postroom.inbox.retention import prune

from .conftest import store

pytestmark = pytest.mark.django_db


def counted() -> totals.Totals:
    """The totals as a count of the rows would find them."""
    sizes = sum(CaughtMessage.objects.values_list("size", flat=True))
    return totals.Totals(
        CaughtMessage.objects.count(), CaughtMessage.objects.unread().count(), sizes
    )


def test_totals_follow_stores_reads_and_deletes() -> None:
    assert totals.read() == totals.Totals(0, 0, 0)
    first = store(make_email("One", text="x" * 500).as_bytes())
    store(make_email("Two").as_bytes())
    store(make_email("Three").as_bytes())
    assert totals.read() == counted() and totals.read().messages == 3
    CaughtMessage.objects.filter(pk=first.pk).update(read_at=timezone.now())
    assert totals.read().unread == 2
    CaughtMessage.objects.filter(pk=first.pk).update(read_at=None)
    CaughtMessage.objects.filter(subject="Two").update(subject="Zwei")  # no count changes
    assert totals.read() == counted() and totals.read().unread == 3
    CaughtMessage.objects.filter(subject__in=["One", "Zwei"]).delete()
    assert totals.read() == counted() and totals.read().messages == 1
    prune(0)
    assert totals.read() == totals.Totals(0, 0, 0)


def test_a_missing_totals_row_is_counted_again() -> None:
    store(make_email("One").as_bytes())
    store(make_email("Two").as_bytes())
    CaughtTotals.objects.all().delete()  # as a flush, or a table rebuilt by a migration
    assert totals.read() == counted()
    store(make_email("Three").as_bytes())
    assert totals.read() == counted() and totals.read().messages == 3


def test_totals_survive_the_triggers_being_made_again() -> None:
    store(make_email("One").as_bytes())
    totals.drop(connection)
    store(make_email("Unseen by any trigger").as_bytes())
    totals.ensure(connection)  # what post_migrate does after every migrate
    assert totals.read() == counted() and totals.read().messages == 2
    store(make_email("Three").as_bytes())
    assert totals.read() == counted()


def test_search_counts_match_the_rows_found() -> None:
    store(make_email("Your order has shipped", text="tracking number 1").as_bytes())
    store(make_email("Order received", text="thanks").as_bytes())
    with_file = make_email("Photos", text="order pictures")
    with_file.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="a.png")
    store(with_file.as_bytes())
    everything = CaughtMessage.objects.all()
    for q in ["", "order", "ship order", '"tracking number"', "has:attachment order", "nothing"]:
        assert search.count(everything, q) == search.search(everything, q).count(), q
