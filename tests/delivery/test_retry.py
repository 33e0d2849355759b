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


def test_mail_is_given_up_after_the_limit_and_test_mail_after_one_try():
    limit = timedelta(days=3)
    assert retry.should_give_up(NOW - timedelta(days=3), NOW, "form", limit)
    assert not retry.should_give_up(NOW - timedelta(days=2), NOW, "form", limit)
    assert retry.should_give_up(NOW, NOW, "test", limit)


def test_4xx_replies_and_dropped_connections_are_transient_5xx_are_not():
    assert retry.is_transient("451 4.3.0 Try later")
    assert retry.is_transient("connection lost")
    assert not retry.is_transient("550 5.1.1 No such user")


def test_the_schedule_follows_its_settings():
    schedule = retry.RetrySchedule(timedelta(seconds=10), 3.0, timedelta(minutes=5))
    assert [schedule.delay(n).total_seconds() for n in range(1, 6)] == [10, 30, 90, 270, 300]
    rng = random.Random(2)
    later = retry.next_attempt_at(NOW, 2, rng, schedule=schedule)
    assert 24 <= (later - NOW).total_seconds() <= 36
    flat = retry.RetrySchedule(timedelta(minutes=1), 1.0, timedelta(hours=1))
    assert flat.delay(50) == timedelta(minutes=1)
    assert retry.RetrySchedule().delay(10**6) == timedelta(hours=1)  # no overflow


def test_the_default_schedule_is_30s_doubling_up_to_an_hour():
    schedule = retry.RetrySchedule()
    assert [schedule.delay(n).total_seconds() for n in (1, 2, 3, 8)] == [30, 60, 120, 3600]
