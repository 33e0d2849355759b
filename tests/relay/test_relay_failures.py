"""A failure on the relay's side ends the transaction cleanly and asks the client to try again:
on the same connection the next try works, and no half message is ever stored."""

from __future__ import annotations

import smtplib

import pytest

import postroom.applications.credentials as credentials
from postroom.applications.credentials import create_application
from postroom.core import smtpserver
from postroom.delivery.models import OutboxMessage
from postroom.relay import server as relay_server
from relay.conftest import SENDER, message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]


def fails_once(real):  # noqa: ANN001, ANN201
    calls: list[int] = []

    def failing(*args: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the first call fails")
        return real(*args)

    return failing


def test_a_trusted_client_whose_lookup_failed_is_not_asked_to_log_in_on_its_retry(
    relay, monkeypatch
) -> None:
    create_application("Local", ["example.org"], trusted_network_no_login=True)
    monkeypatch.setattr(
        credentials, "trusted_application_for", fails_once(credentials.trusted_application_for)
    )
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.ehlo()
        assert client.mail(SENDER)[0] == 451
        assert client.mail(SENDER)[0] == 250
        assert client.rcpt("ann@example.net")[0] == 250
        assert client.data(message("Second try"))[0] == 250
    assert OutboxMessage.objects.get().subject == "Second try"


def test_a_failure_after_the_final_dot_ends_the_transaction(logged_in, monkeypatch) -> None:
    monkeypatch.setattr(relay_server, "header_problem", fails_once(relay_server.header_problem))
    assert logged_in.mail(SENDER)[0] == 250
    assert logged_in.rcpt("ann@example.net")[0] == 250
    assert logged_in.data(message("First"))[0] == 451
    # No RSET in between (smtplib's sendmail would send one): a new MAIL FROM must start a new
    # transaction, not be refused as "nested".
    assert logged_in.mail(SENDER)[0] == 250
    assert logged_in.rcpt("ann@example.net")[0] == 250
    assert logged_in.data(message("Second"))[0] == 250
    assert list(OutboxMessage.objects.values_list("subject", flat=True)) == ["Second"]


class BrokenDecoder(smtpserver.DataDecoder):
    def feed(self, chunk: bytes) -> tuple[bytes, bytes | None]:
        raise OSError(28, "No space left on device")


def test_a_failure_while_reading_the_body_ends_the_connection_and_stores_nothing(
    logged_in, monkeypatch
) -> None:
    monkeypatch.setattr(smtpserver, "DataDecoder", BrokenDecoder)
    body = message("Never half stored") + b"MAIL FROM:<evil@example.org>\r\nRSET\r\n"
    with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPServerDisconnected)) as failed:
        logged_in.sendmail(SENDER, ["ann@example.net"], body)
    if isinstance(failed.value, smtplib.SMTPDataError):
        assert failed.value.smtp_code == 421
    assert not OutboxMessage.objects.exists()
