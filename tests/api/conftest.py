from __future__ import annotations

import json

import pytest
from django.test import Client

from postroom.applications import credentials


@pytest.fixture
def shop(db):
    """An application that may send from example.org, and its secret."""
    return credentials.create_application("Shop", ["example.org"])


@pytest.fixture
def post(shop):
    """POST a JSON message with the shop's key (or ``key=``) and return the response."""
    client = Client()

    def send(data, key=None, **headers):
        body = data if isinstance(data, bytes | str) else json.dumps(data)
        return client.post(
            "/api/v1/messages",
            body,
            content_type=headers.pop("content_type", "application/json"),
            headers={"Authorization": f"Bearer {key or shop[1]}", **headers},
        )

    return send


GOOD = {
    "from": "Shop <shop@example.org>",
    "to": ["ann@example.net"],
    "subject": "Your order",
    "text": "Thanks!",
}
