"""SmtpTransport against Postfix's smtp-sink: a second, independent SMTP implementation."""

from __future__ import annotations

import pytest

from postroom.delivery.transports.base import DeliveryError
from postroom.delivery.transports.smtp import SmtpTransport
from postroom.mailsettings.model import NONE

from .samples import RECIPIENT, SENDER, message, raw_message

pytestmark = pytest.mark.smtpsink


def test_twenty_messages_over_one_connection(smtp_sink):
    sink = smtp_sink()
    with SmtpTransport(sink.host, sink.port, security=NONE) as transport:
        replies = [transport.send(message(n)).reply for n in range(1, 21)]
    assert set(replies) == {"250 2.0.0 Ok"}
    sink.wait_for(messages=20, sessions=1)
    sessions, quits, delivered = sink.counters()
    assert (sessions, quits, delivered) == (1, 1, 20)
    received = sink.messages()
    assert {(m.mail_from, m.rcpt_tos) for m in received} == {(SENDER, (RECIPIENT,))}
    # smtp-sink stores LF line endings; dot-stuffing is undone.
    expected = {raw_message(n).replace(b"\r\n", b"\n") for n in range(1, 21)}
    assert {m.content for m in received} == expected


@pytest.mark.parametrize(
    ("options", "step", "transient", "reply"),
    [
        ({"hard_fail": ["RCPT"]}, "rcpt", False, "500 5.3.0 Error: command failed"),
        ({"soft_fail": ["RCPT"]}, "rcpt", True, "450 4.3.0 Error: command failed"),
        ({"hard_fail": ["MAIL"]}, "mail", False, "500 5.3.0 Error: command failed"),
        ({"soft_fail": ["."]}, "data", True, "450 4.3.0 Error: command failed"),
        ({"hard_fail": ["."]}, "data", False, "500 5.3.0 Error: command failed"),
    ],
)
def test_refusals_are_classified(smtp_sink, options, step, transient, reply):
    sink = smtp_sink(**options)
    with SmtpTransport(sink.host, sink.port, security=NONE) as transport:
        with pytest.raises(DeliveryError) as caught:
            transport.send(message())
        assert (caught.value.step, caught.value.transient, caught.value.reply) == (
            step,
            transient,
            reply,
        )
        assert reply in caught.value.message


def test_a_421_at_connect_is_transient(smtp_sink):
    sink = smtp_sink(options=["-Q", "CONNECT"])
    with pytest.raises(DeliveryError) as caught:
        SmtpTransport(sink.host, sink.port, security=NONE).open()
    assert caught.value.transient is True
    assert caught.value.step == "banner"
