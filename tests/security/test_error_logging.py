"""Every 500 is logged with its traceback, in every environment, and without any secret."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from postroom import redact
from postroom.config import current_config

pytestmark = [pytest.mark.django_db, pytest.mark.urls("security.raising_urls")]

PASSWORD = "Tr0ub4dor-3-smtp-pw"
SESSION = "s3ss10nk3yabcdefghijklmnop"
BEARER = "eyJhbGciOi.bearer-token.x"


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured console handler writes (the one `postroom serve` logs to)."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


@pytest.fixture
def failing_client(client, administrator, monkeypatch):
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__Host", "smtp.example.net")
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__Username", "site")
    client.force_login(administrator)
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("environment", ["Development", "Production"])
@pytest.mark.parametrize("debug", [False, True])
def test_a_500_logs_its_traceback_without_the_secrets(
    failing_client, console, isolated_site, monkeypatch, settings, environment, debug
):
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", environment)
    settings.DEBUG = debug
    # The password comes from web.config, not the environment: only its value identifies it.
    (isolated_site / "web.config").write_text(
        '<configuration><system.net><mailSettings><smtp from="site@example.net">'
        f'<network host="smtp.example.net" userName="site" password="{PASSWORD}" />'
        "</smtp></mailSettings></system.net></configuration>"
    )
    failing_client.cookies["sessionid"] = SESSION

    response = failing_client.get("/boom/", HTTP_AUTHORIZATION=f"Bearer {BEARER}")

    assert response.status_code == 500
    logged = console.getvalue()
    assert "ERROR django.request: Internal Server Error: /boom/" in logged
    assert "Traceback (most recent call last)" in logged
    assert 'raising_urls.py", line' in logged and "RuntimeError: login refused" in logged
    for secret in (PASSWORD, SESSION, BEARER, "XXXXSECRETXXXX"):
        assert secret not in logged
    assert "https://hooks.example.net/********" in logged


def test_a_link_token_in_the_path_is_masked_in_the_log(failing_client, console):
    token = "Zk9Jx3c1VYQh2m4nA-LinkToken_0123456789abcde"

    response = failing_client.get(f"/invite/{token}/boom/")

    assert response.status_code == 500
    logged = console.getvalue()
    assert "Internal Server Error: /invite/********/boom/" in logged
    assert "ValueError: could not read link http://testserver/invite/********/boom/" in logged
    assert token not in logged


def test_the_secret_key_and_secret_variables_are_masked(console, monkeypatch, settings):
    monkeypatch.setenv("POSTROOM_FALLBACK_SMTP_URL", "smtps://relay:RelayPass99@relay.example")
    monkeypatch.setenv("Postroom__Alerts__WebhookUrl", "https://example.org/alert/T123/abc")
    settings.SECRET_KEY = "django-insecure-the-real-secret-key-123"
    current_config()  # every part reads its configuration before it does anything
    logging.getLogger("postroom.test").error(
        "key %s relay %s alert %s",
        settings.SECRET_KEY,
        "RelayPass99",
        "https://example.org/alert/T123/abc",
    )
    logged = console.getvalue()
    assert "key ******** relay ******** alert ********" in logged


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("smtp+starttls://user:p4ss@relay:587", "smtp+starttls://user:********@relay:587"),
        ("Cookie: sessionid=abc123def; csrftoken=xyz789", "sessionid=********; csrftoken=********"),
        ("{'HTTP_AUTHORIZATION': 'Basic dXNlcjpwYXNz'}", "'HTTP_AUTHORIZATION': 'Basic ********'"),
        ("GET /password/reset/AbC-123_x/ 200", "GET /password/reset/********/ 200"),
        ("password='hunter22' user=x", "password='********' user=x"),
        (
            "https://discord.com/api/webhooks/1/abc?x=1 failed",
            "https://discord.com/******** failed",
        ),
        ("sent to https://example.org/outbox/12/", "sent to https://example.org/outbox/12/"),
    ],
)
def test_secret_shapes_are_masked(text, expected):
    assert expected in redact.scrub(text)


def test_remembered_values_are_masked_wherever_they_appear():
    from postroom.mailsettings.model import Secret

    Secret("a-password-from-a-file")
    assert redact.scrub("x a-password-from-a-file y") == "x ******** y"


def test_secret_variables_stay_masked_however_many_other_secrets_come_and_go(console, monkeypatch):
    from postroom.mailsettings.model import Secret

    value = "zq7-shapeless-value-991"  # nothing but its variable's name says it is secret
    monkeypatch.setenv("Postroom__Provider__ApiKey", value)
    current_config()
    for number in range(300):  # e.g. passwords typed into Try settings, one after another
        Secret(f"tried-password-{number:04}")
    logging.getLogger("postroom.test").error("the provider refused %s", value)
    assert value not in console.getvalue()


def test_what_libraries_log_is_masked_too_and_lines_stay_bounded(console):
    # asyncio, warnings and the like log through the root logger, past Postroom's own loggers.
    logging.getLogger("asyncio").error("Task failed: smtp://site:Hunter2-Secret@relay.example")
    logging.getLogger("postroom.test").warning("to %s", ", ".join(["a@example.net"] * 10_000))
    lines = console.getvalue().splitlines()
    assert "Hunter2-Secret" not in lines[0] and "relay.example" in lines[0]
    assert len(lines[1]) < 5_000 and "more characters" in lines[1]
