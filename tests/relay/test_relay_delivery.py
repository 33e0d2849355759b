"""Relayed mail goes the way of all mail: the worker delivers it to Postfix's smtp-sink."""

from __future__ import annotations

import json
import smtplib
import threading

import pytest

from postroom.applications.credentials import create_application
from postroom.delivery import worker
from postroom.delivery.models import OutboxMessage, Status
from relay.conftest import SENDER, message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]


@pytest.mark.smtpsink
def test_relayed_mail_with_a_bcc_is_delivered_through_smtp_sink(
    relay, smtp_sink, isolated_site
) -> None:
    sink = smtp_sink()
    smtp = {
        "From": "site@example.org",
        "Host": "127.0.0.1",
        "Port": sink.port,
        "SecureSocketOptions": "None",
    }
    (isolated_site / "appsettings.json").write_text(
        json.dumps({"Umbraco": {"CMS": {"Global": {"Smtp": smtp}}}})
    )
    create_application("Local", ["example.org"], trusted_network_no_login=True)
    raw = message("Delivered")
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.sendmail(SENDER, ["ann@example.net", "hidden@example.net"], raw)

    worker.run(threading.Event(), burst=True)

    sink.wait_for(messages=1, timeout=10)
    [received] = sink.messages()
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ("ann@example.net", "hidden@example.net")
    assert b"Subject: Delivered" in received.content
    assert b"hidden@example.net" not in received.content  # a Bcc stays out of the headers
    assert OutboxMessage.objects.get().status == Status.SENT


def test_in_production_with_nothing_configured_relayed_mail_is_held(relay, monkeypatch) -> None:
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")
    create_application("Local", ["example.org"], trusted_network_no_login=True)
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.sendmail(SENDER, ["ann@example.net"], message("Kept"))

    worker.run(threading.Event(), burst=True)

    row = OutboxMessage.objects.get()
    assert (row.status, row.attempt_count) == (Status.HELD, 0)  # kept until settings appear
    assert row.raw.endswith(message("Kept"))
