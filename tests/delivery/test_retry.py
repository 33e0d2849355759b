"""When a message is tried again."""

import random
from datetime import UTC, datetime, timedelta

from postroom.delivery import retry

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_delays_grow_exponentially_with_jitter_and_are_capped():
    rng = random.Random(1)
    delays = [(retry.next_attempt_at(NOW, n, rng) - NOW).total_seconds() for n in range(1, 12)]
    assert 24 <= delays[0] <= 36
    assert 48 <= delays[1] <= 72
    assert all(d <= 3600 * 1.2 for d in delays)
    assert delays[-1] >= 3600 * 0.8


def test_mail_is_given_up_after_three_days_and_test_mail_after_one_try():
    created = NOW - timedelta(days=3)
    assert retry.should_give_up(created, NOW, "form")
    assert not retry.should_give_up(NOW - timedelta(days=2), NOW, "form")
    assert retry.should_give_up(NOW, NOW, "test")
