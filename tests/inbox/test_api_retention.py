"""Caught messages are pruned by count (Postroom:Inbox:KeepMessages) and age (KeepDays)."""

from __future__ import annotations

import pytest

from emails import make_email
from postroom.config import current_config
from postroom.core import chores
from postroom.inbox import retention
from postroom.inbox.models import CaughtMessage

from .conftest import store

pytestmark = pytest.mark.django_db


def _fill(count: int, minutes_ago: int = 0) -> list[int]:
    raw = make_email("Hi").as_bytes()
    return [store(raw, minutes_ago=minutes_ago).pk for _ in range(count)]


def test_defaults() -> None:
    inbox = current_config().inbox
    assert (inbox.keep_messages.value, inbox.keep_days.value) == (5000, 0)


def test_prune_keeps_the_newest_by_count(monkeypatch) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)  # several batches
    ids = _fill(7)
    assert retention.prune(3) == 4
    assert sorted(CaughtMessage.objects.values_list("id", flat=True)) == ids[-3:]
    assert retention.prune(3) == 0


def test_prune_by_age_too() -> None:
    old = _fill(2, minutes_ago=3 * 24 * 60)
    new = _fill(2, minutes_ago=60)
    assert retention.prune(100, keep_days=2) == 2
    assert not CaughtMessage.objects.filter(id__in=old).exists()
    assert CaughtMessage.objects.filter(id__in=new).count() == 2


def test_the_chore_uses_the_settings(monkeypatch) -> None:
    monkeypatch.setenv("Postroom__Inbox__KeepMessages", "2")
    ids = _fill(5)
    chores.run_all(inline=True)
    assert sorted(CaughtMessage.objects.values_list("id", flat=True)) == ids[-2:]


@pytest.mark.parametrize(
    ("key", "value"), [("KeepMessages", "0"), ("KeepMessages", "lots"), ("KeepDays", "-1")]
)
def test_invalid_values_are_reported_and_the_default_kept(monkeypatch, key, value) -> None:
    monkeypatch.setenv(f"Postroom__Inbox__{key}", value)
    config = current_config()
    assert any(p.key == f"Postroom:Inbox:{key}" for p in config.problems)
    assert config.inbox.keep_messages.value == 5000


def test_a_misspelt_key_is_warned_about(monkeypatch) -> None:
    monkeypatch.setenv("Postroom__Inbox__KeepMessage", "10")
    assert any("KeepMessage" in p.key for p in current_config().warnings)
