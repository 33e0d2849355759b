"""What a logged-in client still cannot do: hide another sender in the headers, set the
provider's control headers, outlive its application's disabling, or double its rate limit."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

import pytest

from postroom.applications.credentials import create_application, rotate
from postroom.applications.ratelimits import seconds_until_allowed
from postroom.delivery.models import OutboxMessage
from relay.conftest import SENDER, insecure_context, message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]


def with_headers(*lines: str) -> bytes:
    head = "\r\n".join(lines)
    return f"{head}\r\nTo: ann@example.net\r\nSubject: Hi\r\n\r\nBody\r\n".encode()


@pytest.mark.parametrize(
    "headers",
    [
        ("From: shop@example.org <evil@bad.example>",),
        ("From: shop@example.org, evil@bad.example",),
        ("From: shop@example.org", "From: evil@bad.example"),
        ("From: shop@example.org", "Sender: evil@bad.example"),
    ],
)
def test_another_sender_hidden_in_the_headers_is_refused(logged_in, headers) -> None:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        logged_in.sendmail(SENDER, ["ann@example.net"], with_headers(*headers))
    assert refused.value.smtp_code == 550
    assert b"5.7.1" in refused.value.smtp_error
    assert OutboxMessage.objects.count() == 0


@pytest.mark.parametrize("header", ["X-SMTPAPI", "X-Postroom-Id", "x-mailgun-variables"])
def test_the_provider_control_headers_are_postrooms_own(logged_in, header) -> None:
    raw = with_headers(f"From: {SENDER}", f"{header}: {{}}")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        logged_in.sendmail(SENDER, ["ann@example.net"], raw)
    assert refused.value.smtp_code == 550
    assert header.encode() in refused.value.smtp_error
    assert OutboxMessage.objects.count() == 0


def test_a_display_name_alone_is_fine(logged_in) -> None:
    raw = with_headers(f"From: Shop Team <{SENDER}>", f"Sender: {SENDER}")
    assert logged_in.sendmail(SENDER, ["ann@example.net"], raw) == {}


def test_an_application_disabled_mid_session_stops_at_the_next_message(
    logged_in, application
) -> None:
    app, _ = application
    assert logged_in.sendmail(SENDER, ["ann@example.net"], message("First")) == {}
    app.enabled = False
    app.save()
    with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPServerDisconnected)):
        logged_in.sendmail(SENDER, ["ann@example.net"], message("Second"))
    assert OutboxMessage.objects.count() == 1


def test_a_secret_rotated_without_grace_stops_an_open_session(relay, application) -> None:
    app, secret = application
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.starttls(context=insecure_context())
        client.login(app.username, secret)
        assert client.sendmail(SENDER, ["ann@example.net"], message("First")) == {}
        rotate(app, timedelta(0))  # the old secret stops at once
        with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPServerDisconnected)):
            client.sendmail(SENDER, ["ann@example.net"], message("Second"))
    assert OutboxMessage.objects.count() == 1


def test_the_relay_and_the_api_share_one_rate_limit(relay) -> None:
    app, _ = create_application(
        "Shared", ["example.org"], trusted_network_no_login=True, rate_limit_per_minute=2
    )
    assert seconds_until_allowed(app) is None  # one message through the API
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.sendmail(SENDER, ["ann@example.net"], message("Second"))
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(SENDER, ["ann@example.net"], message("Third"))
    assert refused.value.smtp_code == 452
    assert OutboxMessage.objects.count() == 1


def test_a_secret_typed_as_the_user_name_never_reaches_the_log(relay, application, caplog):
    _, secret = application
    caplog.set_level(logging.INFO, logger="postroom.relay")
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.starttls(context=insecure_context())
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(secret, "app_shop")
    assert "refused a login" in caplog.text
    assert secret not in caplog.text and secret[:16] not in caplog.text


def test_a_sessions_application_is_worked_out_again_only_when_its_rows_change(monkeypatch):
    from postroom.relay import server as relay_server

    app, secret = create_application("Local", ["example.org"], trusted_network_no_login=True)
    worked_out: list[tuple] = []
    real = relay_server.still_allowed
    monkeypatch.setattr(relay_server, "still_allowed", lambda *a: worked_out.append(a) or real(*a))
    first = relay_server.recheck("127.0.0.1", None, None)
    assert relay_server.recheck("127.0.0.1", None, first) is first
    assert len(worked_out) == 1
    app.allowed_senders = ["other.org"]
    app.save()
    changed = relay_server.recheck("127.0.0.1", None, first)
    assert len(worked_out) == 2 and changed[1].allowed_senders == ["other.org"]
    login = (app.username, secret)
    assert relay_server.recheck("127.0.0.1", login, None)[0]  # rows to compare
    rotate(app, timedelta(hours=1))  # the old secret ends in an hour: with time alone
    assert relay_server.recheck("127.0.0.1", login, None)[0] is None  # so never remembered
