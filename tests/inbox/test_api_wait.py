"""``/api/v1/inbox/wait``: answers when a matching message arrives, 404 after the timeout."""

from __future__ import annotations

import threading
import time

import pytest
from django.test import Client

from emails import make_email
from postroom.inbox import api as inbox_api
from postroom.inbox.tokens import create_token

from .conftest import store

pytestmark = pytest.mark.django_db

WAIT = "/api/v1/inbox/wait"


@pytest.fixture
def api(client: Client) -> Client:
    _, token = create_token("tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def _raw(subject: str, to: str) -> bytes:
    return make_email(subject, to=to).as_bytes().replace(b"\n", b"\r\n")


def test_a_message_arriving_during_the_wait_is_answered_at_once(api, monkeypatch) -> None:
    store(_raw("Confirm your address", "other@example.com"), recipients=["other@example.com"])
    pauses: list[float] = []

    def meanwhile(seconds: float) -> None:  # the site sends its mail while the API waits
        pauses.append(seconds)
        if len(pauses) == 2:
            store(_raw("Welcome", "new@example.com"), recipients=["new@example.com"])
        if len(pauses) == 3:
            store(_raw("Confirm your address", "new@example.com"), recipients=["new@example.com"])

    monkeypatch.setattr(inbox_api, "_pause", meanwhile)
    response = api.get(WAIT, {"to": "new@example.com", "subject": "confirm", "timeout": 5})
    assert response.status_code == 200
    data = response.json()
    assert data["subject"] == "Confirm your address" and data["to"] == "new@example.com"
    assert len(pauses) == 3 and all(0 < p <= inbox_api.POLL_SECONDS for p in pauses)


def test_an_earlier_match_counts_unless_after_excludes_it(api) -> None:
    earlier = store(_raw("Reset", "a@example.com"), recipients=["a@example.com"])
    found = api.get(WAIT, {"to": "a@example.com", "timeout": 0})
    assert found.status_code == 200 and found.json()["id"] == earlier.pk
    missing = api.get(WAIT, {"to": "a@example.com", "timeout": 0, "after": earlier.pk})
    assert missing.status_code == 404
    assert missing.json()["error"]["last_id"] == earlier.pk


def test_nothing_matching_is_a_404_after_the_timeout(api) -> None:
    started = time.monotonic()
    response = api.get(WAIT, {"subject": "never", "timeout": 0.3})
    took = time.monotonic() - started
    assert response.status_code == 404
    assert "0.3 seconds" in response.json()["error"]["message"]
    assert 0.3 <= took < 2


@pytest.mark.parametrize("timeout", ["31", "-1", "soon"])
def test_the_timeout_is_bounded(api, timeout: str) -> None:
    response = api.get(WAIT, {"timeout": timeout})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "timeout"


def test_waits_beyond_the_cap_are_told_to_come_back(api, monkeypatch) -> None:
    held = threading.BoundedSemaphore(1)
    held.acquire()
    monkeypatch.setattr(inbox_api, "_waits", held)
    response = api.get(WAIT, {"timeout": 10})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "too_many_waits" and response["Retry-After"] == "1"


def test_a_wait_gives_its_place_back(api) -> None:
    for _ in range(inbox_api.MAX_WAITS + 1):
        assert api.get(WAIT, {"timeout": 0}).status_code == 404
