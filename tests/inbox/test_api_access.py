"""Who may use the inbox API: a token holder; loopback only by a Development-only setting."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from postroom.config import current_config
from postroom.inbox.models import InboxToken
from postroom.inbox.tokens import authenticate, create_token, revoke

pytestmark = pytest.mark.django_db

LIST = "/api/v1/inbox/messages"
OPEN = "POSTROOM_INBOX_API_OPEN_ON_LOOPBACK"


def test_without_a_token_it_is_a_json_401_that_says_how_to_get_one(client: Client) -> None:
    response = client.get(LIST)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "postroom inbox token create" in response.json()["error"]["message"]


def test_a_token_opens_it_and_only_its_digest_is_stored(client: Client) -> None:
    row, token = create_token("ci")
    assert token.startswith("pri_") and token not in str(InboxToken.objects.values().get())
    assert client.get(LIST, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert client.get(LIST, HTTP_AUTHORIZATION=f"Bearer {token[:-1]}x").status_code == 401
    row.refresh_from_db()
    assert row.last_used_at is not None
    assert revoke("ci")
    assert client.get(LIST, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_token_names_are_unique_and_required() -> None:
    create_token("ci")
    with pytest.raises(ValueError, match="exists already"):
        create_token("CI")
    with pytest.raises(ValueError, match="needs a name"):
        create_token("  ")
    assert authenticate("pri_000000000000_" + "a" * 43) is None


def test_wrong_tokens_from_one_address_are_slowed_down(client: Client) -> None:
    for _ in range(20):
        assert client.get(LIST, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get(LIST, HTTP_AUTHORIZATION="Bearer wrong")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_open_on_loopback_in_development(client: Client, monkeypatch) -> None:
    monkeypatch.setenv(OPEN, "true")
    assert current_config().hosting.inbox_api_open_on_loopback.value is True
    assert client.get(LIST).status_code == 200
    assert client.get(LIST, REMOTE_ADDR="192.0.2.7").status_code == 401
    assert client.get(LIST, REMOTE_ADDR="::1").status_code == 200


def test_never_open_in_production(client: Client, monkeypatch) -> None:
    monkeypatch.setenv(OPEN, "true")
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")
    config = current_config()
    assert config.hosting.inbox_api_open_on_loopback.value is False
    [problem] = [p for p in config.problems if p.key == OPEN]
    assert "stays closed" in problem.message and problem.level == "warning"
    assert client.get(LIST).status_code == 401


def test_the_open_setting_must_be_true_or_false(monkeypatch) -> None:
    monkeypatch.setenv(OPEN, "maybe")
    config = current_config()
    assert config.hosting.inbox_api_open_on_loopback.value is False
    assert any(p.key == OPEN for p in config.errors)


def test_token_command_creates_lists_and_revokes(capsys) -> None:
    call_command("inbox", "token", "create", "ci")
    out = capsys.readouterr().out
    token = next(line for line in out.splitlines() if line.startswith("pri_"))
    assert authenticate(token) is not None
    call_command("inbox", "token", "list")
    listed = capsys.readouterr().out
    assert "ci" in listed and "never" not in listed and token not in listed
    call_command("inbox", "token", "revoke", "ci")
    assert authenticate(token) is None
    with pytest.raises(CommandError, match="no inbox API token named"):
        call_command("inbox", "token", "revoke", "ci")
    with pytest.raises(CommandError, match="token create NAME"):
        call_command("inbox", "token", "make")
