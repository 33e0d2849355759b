"""Two requests with one Idempotency-Key at the same moment queue one message.

Both pass the look-up for an earlier request before either commits; the database's unique
key then stops the second, which answers as the first did. The race is set up exactly by
letting the second request's look-up miss once.
"""

from __future__ import annotations

import pytest

from api.conftest import GOOD
from postroom.api import views
from postroom.delivery.models import OutboxMessage

pytestmark = pytest.mark.django_db


def miss_the_next_lookup(monkeypatch) -> list[tuple]:
    """Makes the next look-up for an earlier request miss, as the race's loser's does; the
    list collects every look-up from here on."""
    real = views._earlier
    calls: list[tuple] = []

    def misses_once(*args):
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(views, "_earlier", misses_once)
    return calls


def test_the_loser_of_a_race_answers_with_the_winners_message(post, monkeypatch):
    first = post(GOOD, **{"Idempotency-Key": "same"}).json()
    calls = miss_the_next_lookup(monkeypatch)
    second = post(GOOD, **{"Idempotency-Key": "same"})
    assert len(calls) == 2  # the insert failed on the unique key, and it looked again
    assert second.status_code == 202 and second.json()["id"] == first["id"]
    assert OutboxMessage.objects.count() == 1


def test_the_loser_with_another_body_gets_409(post, monkeypatch):
    post(GOOD, **{"Idempotency-Key": "same"})
    miss_the_next_lookup(monkeypatch)
    response = post({**GOOD, "subject": "Other"}, **{"Idempotency-Key": "same"})
    assert response.status_code == 409
    assert OutboxMessage.objects.count() == 1
