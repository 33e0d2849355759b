"""SmtpTransport against real servers on loopback: sessions, replies, refusals, timeouts.

Every test against aiosmtpd runs twice: with a server that offers PIPELINING, where the
envelope goes out in one write, and with one that does not, where it goes command by command.
"""

from __future__ import annotations

import socket
import time

import pytest

from postroom.delivery.transports.base import DeliveryError, OutgoingMessage
from postroom.delivery.transports.smtp import SmtpTransport
from postroom.mailsettings.model import (
    NONE,
    SSL_ON_CONNECT,
    START_TLS,
    START_TLS_WHEN_AVAILABLE,
    Secret,
    Setting,
    SmtpSettings,
)

from .samples import RECIPIENT, SENDER, message, raw_message
from .scripted import ScriptedServer


@pytest.fixture(params=[False, True], ids=["one-by-one", "pipelined"])
def smtp_server(request, smtp_server):
    return lambda **options: smtp_server(pipelining=request.param, **options)


def plain(server, **options) -> SmtpTransport:
    return SmtpTransport(server.host, server.port, security=NONE, **options)


def test_delivers_the_exact_message_and_returns_the_final_reply(smtp_server):
    server = smtp_server()
    with plain(server) as transport:
        result = transport.send(message())
    assert result.reply == "250 2.0.0 Ok: queued as 0001"
    assert result.accepted == (RECIPIENT,)
    assert result.refused == {}
    [received] = server.messages
    assert received.mail_from == SENDER
    assert received.rcpt_tos == (RECIPIENT,)
    assert received.raw == raw_message()


def test_bare_line_feeds_go_out_as_crlf(smtp_server):
    server = smtp_server()
    raw = b"Subject: lf\n\nline one\nline two\rline three\r\n"
    with plain(server) as transport:
        transport.send(OutgoingMessage(SENDER, (RECIPIENT,), raw))
    assert server.messages[0].raw == b"Subject: lf\r\n\r\nline one\r\nline two\r\nline three\r\n"


def test_a_batch_shares_one_connection(smtp_server):
    server = smtp_server()
    with plain(server) as transport:
        replies = [transport.send(message(n)).reply for n in range(1, 11)]
    assert all(reply.startswith("250 ") for reply in replies)
    assert len(server.messages) == 10
    assert server.connections == 1
    assert [m.raw for m in server.messages] == [raw_message(n) for n in range(1, 11)]


def test_send_opens_the_connection_when_needed(smtp_server):
    server = smtp_server()
    transport = plain(server)
    try:
        assert transport.send(message()).reply.startswith("250")
    finally:
        transport.close()
    transport.close()  # closing twice is harmless


def test_client_domain_is_used_in_ehlo(smtp_server):
    server = smtp_server()
    with plain(server, client_domain="backoffice.example.test") as transport:
        transport.send(message())
    assert server.handler.ehlo_names == ["backoffice.example.test"]


def test_refused_recipients_are_reported_while_others_get_the_message(smtp_server):
    server = smtp_server(refuse={"nobody@example.test": "550 5.1.1 No such user"})
    recipients = ("ada@example.test", "nobody@example.test", "bo@example.test")
    with plain(server) as transport:
        result = transport.send(message(recipients=recipients))
    assert result.accepted == ("ada@example.test", "bo@example.test")
    assert result.refused == {"nobody@example.test": "550 5.1.1 No such user"}
    assert server.messages[0].rcpt_tos == ("ada@example.test", "bo@example.test")


def test_all_recipients_refused_permanently(smtp_server):
    server = smtp_server(refuse={RECIPIENT: "550 5.1.1 No such user"})
    with plain(server) as transport, pytest.raises(DeliveryError) as caught:
        transport.send(message())
    error = caught.value
    assert (error.step, error.transient) == ("rcpt", False)
    assert error.reply == "550 5.1.1 No such user"
    assert RECIPIENT in error.message and "550 5.1.1 No such user" in error.message
    assert server.messages == []


def test_all_recipients_refused_temporarily_is_transient(smtp_server):
    server = smtp_server(
        refuse={"a@example.test": "450 4.2.0 Mailbox busy", "b@example.test": "451 4.3.0 Later"}
    )
    with plain(server) as transport, pytest.raises(DeliveryError) as caught:
        transport.send(message(recipients=("a@example.test", "b@example.test")))
    assert (caught.value.step, caught.value.transient) == ("rcpt", True)


def test_mixed_4xx_and_5xx_refusals_are_permanent(smtp_server):
    server = smtp_server(
        refuse={"a@example.test": "450 4.2.0 Mailbox busy", "b@example.test": "550 5.1.1 Gone"}
    )
    with plain(server) as transport, pytest.raises(DeliveryError) as caught:
        transport.send(message(recipients=("a@example.test", "b@example.test")))
    assert caught.value.transient is False


@pytest.mark.parametrize(
    ("reply", "transient"),
    [("451 4.3.0 Try again later", True), ("553 5.7.1 Sender not allowed", False)],
)
def test_mail_from_refusal(smtp_server, reply, transient):
    server = smtp_server(mail_reply=reply)
    with plain(server) as transport, pytest.raises(DeliveryError) as caught:
        transport.send(message())
    assert (caught.value.step, caught.value.transient, caught.value.reply) == (
        "mail",
        transient,
        reply,
    )
    assert reply in caught.value.message


@pytest.mark.parametrize(
    ("reply", "transient"),
    [("452 4.3.1 Insufficient system storage", True), ("554 5.7.1 Spam detected", False)],
)
def test_data_refusal(smtp_server, reply, transient):
    server = smtp_server(data_reply=reply)
    with plain(server) as transport, pytest.raises(DeliveryError) as caught:
        transport.send(message())
    assert (caught.value.step, caught.value.transient, caught.value.reply) == (
        "data",
        transient,
        reply,
    )


def test_the_connection_is_reused_after_a_failed_transaction(smtp_server):
    server = smtp_server(refuse={"nobody@example.test": "550 5.1.1 No such user"})
    with plain(server) as transport:
        with pytest.raises(DeliveryError):
            transport.send(message(recipients=("nobody@example.test",)))
        server.handler.data_reply = "554 5.6.0 Bad content"
        with pytest.raises(DeliveryError):
            transport.send(message(2))
        server.handler.data_reply = None
        assert transport.send(message(3)).reply.startswith("250")
    assert server.connections == 1
    assert [m.raw for m in server.messages] == [raw_message(3)]


def test_reconnects_once_when_the_server_dropped_the_idle_connection(smtp_server):
    server = smtp_server()
    with plain(server) as transport:
        transport.send(message(1))
        server.disconnect_clients()
        assert transport.send(message(2)).reply.startswith("250")
    assert server.connections == 2
    assert [m.raw for m in server.messages] == [raw_message(1), raw_message(2)]


@pytest.mark.parametrize("command", ["RCPT", "DATA"])
def test_a_connection_dropped_mid_transaction_is_transient(smtp_server, command):
    server = smtp_server(drop_on={command})
    with plain(server) as transport:
        with pytest.raises(DeliveryError) as caught:
            transport.send(message())
        assert caught.value.transient is True
        assert caught.value.step == command.lower()
        assert "closed the connection" in caught.value.message
        # The next message gets a fresh connection.
        server.handler.drop_on.clear()
        assert transport.send(message(2)).reply.startswith("250")
    assert server.connections == 2


class EnvelopeFirstServer(ScriptedServer):
    """A server that answers nothing until it holds the whole envelope, up to DATA.

    Only a client that pipelines gets through; one that waits for each reply times out.
    Records each chunk as it arrived, and whether the session ended without a message.
    """

    def __init__(self, envelope_replies: bytes = b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n") -> None:
        self.envelope_replies = envelope_replies
        self.hung_up_in_data = False
        super().__init__()

    def _converse(self, connection: socket.socket) -> None:
        self._read_until(connection, b"DATA\r\n")
        connection.sendall(self.envelope_replies + b"354 Go ahead\r\n")
        if not self._read_until(connection, b"\r\n.\r\n"):
            self.hung_up_in_data = True
            return
        connection.sendall(b"250 2.0.0 Ok: queued as STRICT\r\n")
        self._read_until(connection, b"\r\n")
        connection.sendall(b"221 Bye\r\n")


def test_the_envelope_goes_out_in_one_write_when_the_server_offers_pipelining():
    server = EnvelopeFirstServer()
    try:
        with SmtpTransport("127.0.0.1", server.port, security=NONE, timeout=3) as transport:
            result = transport.send(message())
    finally:
        server.close()
    assert result.reply == "250 2.0.0 Ok: queued as STRICT"
    assert f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{RECIPIENT}>\r\nDATA\r\n".encode() in server.chunks


def test_a_server_that_takes_data_without_recipients_loses_the_session_not_the_message():
    # RFC 2920 says DATA must then be refused; a server that says 354 anyway waits for a
    # message nobody should get. The client hangs up instead of sending one.
    server = EnvelopeFirstServer(b"250 2.1.0 Ok\r\n550 5.1.1 No such user\r\n")
    try:
        transport = SmtpTransport("127.0.0.1", server.port, security=NONE, timeout=3)
        with transport, pytest.raises(DeliveryError) as caught:
            transport.send(message())
    finally:
        server.close()
    assert (caught.value.step, caught.value.transient) == ("rcpt", False)
    assert caught.value.reply == "550 5.1.1 No such user"
    assert server.hung_up_in_data
    assert server.chunks[-1].endswith(b"DATA\r\n")  # nothing was sent as the message


def test_a_long_envelope_is_delivered_to_every_recipient(smtp_server):
    # Beyond PIPELINE_MAX recipients the envelope goes command by command, pipelining or not.
    recipients = tuple(f"reader-{n}@example.test" for n in range(250))
    server = smtp_server(refuse={"reader-7@example.test": "550 5.1.1 No such user"})
    with plain(server) as transport:
        result = transport.send(OutgoingMessage(SENDER, recipients, raw_message()))
    assert len(result.accepted) == 249
    assert result.refused == {"reader-7@example.test": "550 5.1.1 No such user"}
    assert len(server.messages[0].rcpt_tos) == 249


def test_a_refused_sender_leaves_a_pipelined_session_usable(smtp_server):
    server = smtp_server(mail_reply="553 5.7.1 Sender not allowed")
    with plain(server) as transport:
        with pytest.raises(DeliveryError) as caught:
            transport.send(message(1, recipients=("a@example.test", "b@example.test")))
        assert caught.value.step == "mail"
        server.handler.mail_reply = None
        assert transport.send(message(2)).reply.startswith("250")
    assert server.connections == 1
    assert [m.raw for m in server.messages] == [raw_message(2)]


def test_non_ascii_addresses_use_smtputf8_with_delivery_format_international(smtp_server):
    server = smtp_server()
    with plain(server, delivery_format="International") as transport:
        transport.send(message(sender="jörg@exämple.test", recipients=("zoë@example.test",)))
    [received] = server.messages
    assert received.mail_from == "jörg@exämple.test"
    assert received.rcpt_tos == ("zoë@example.test",)
    assert "SMTPUTF8" in received.mail_options


def test_non_ascii_addresses_without_smtputf8_fail_permanently(smtp_server):
    server = smtp_server(smtputf8=False)
    with plain(server) as transport, pytest.raises(DeliveryError) as caught:
        transport.send(message(recipients=("zoë@example.test",)))
    assert (caught.value.step, caught.value.transient) == ("mail", False)
    assert "zoë@example.test" in caught.value.message
    assert "SMTPUTF8" in caught.value.message
    assert server.messages == []


def test_international_without_smtputf8_fails_clearly(smtp_server):
    server = smtp_server(smtputf8=False)
    transport = plain(server, delivery_format="International")
    with transport, pytest.raises(DeliveryError) as caught:
        transport.send(message(recipients=("zoë@example.test",)))
    assert (caught.value.step, caught.value.transient) == ("mail", False)
    assert "zoë@example.test" in caught.value.message
    assert "does not offer" in caught.value.message and "SMTPUTF8" in caught.value.message
    assert server.messages == []


def test_seven_bit_refuses_a_non_ascii_mailbox_even_when_smtputf8_is_offered(smtp_server):
    server = smtp_server()  # offers SMTPUTF8
    with plain(server) as transport, pytest.raises(DeliveryError) as caught:
        transport.send(message(recipients=("zoë@example.test",)))
    assert (caught.value.step, caught.value.transient) == ("mail", False)
    assert "zoë@example.test" in caught.value.message
    assert "SevenBit" in caught.value.message and 'deliveryFormat="International"' in (
        caught.value.message
    )
    assert server.messages == []


def test_seven_bit_sends_a_non_ascii_domain_in_its_ascii_form(smtp_server):
    server = smtp_server(smtputf8=False)
    with plain(server) as transport:
        result = transport.send(message(recipients=("ada@exämple.test",)))
    assert result.accepted == ("ada@exämple.test",)
    [received] = server.messages
    assert received.rcpt_tos == ("ada@xn--exmple-cua.test",)
    assert "SMTPUTF8" not in received.mail_options


def test_eight_bit_body_is_announced_as_8bitmime(smtp_server):
    server = smtp_server()
    raw = "Subject: hi\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n".encode()
    with plain(server) as transport:
        transport.send(OutgoingMessage(SENDER, (RECIPIENT,), raw))
    assert server.messages[0].raw == raw
    assert "BODY=8BITMIME" in server.messages[0].mail_options


def test_nothing_listening_is_a_fast_transient_connect_error(refused_port):
    transport = SmtpTransport("127.0.0.1", refused_port, security=NONE)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        transport.open()
    assert time.monotonic() - started < 1
    assert (caught.value.step, caught.value.transient) == ("connect", True)
    # The same words as the health check's (one set of failure explanations).
    assert caught.value.message == (
        f"Could not connect to 127.0.0.1:{refused_port}: connection refused (nothing is"
        " listening there). Check the host and the port (587 for STARTTLS, 465 for implicit"
        " TLS), and that the server is running."
    )


def test_unknown_host_is_a_dns_error():
    transport = SmtpTransport("smtp.postroom.invalid", 25)
    with pytest.raises(DeliveryError) as caught:
        transport.open()
    assert (caught.value.step, caught.value.transient) == ("dns", True)
    assert caught.value.message.startswith("Could not resolve smtp.postroom.invalid: ")
    assert "Check the host name" in caught.value.message


def test_a_server_that_never_greets_times_out(silent_listener):
    transport = SmtpTransport("127.0.0.1", silent_listener.port, security=NONE, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        transport.open()
    assert time.monotonic() - started < 3
    assert (caught.value.step, caught.value.transient) == ("banner", True)
    assert "1 s" in caught.value.message


def test_a_connection_that_hangs_times_out_at_connect(blackhole_listener):
    transport = SmtpTransport("127.0.0.1", blackhole_listener.port, security=NONE, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        transport.open()
    assert time.monotonic() - started < 3
    assert (caught.value.step, caught.value.transient) == ("connect", True)
    assert caught.value.message.startswith(
        f"Could not connect to 127.0.0.1:{blackhole_listener.port}: no answer within 1 s"
        " (timed out)."
    )


def test_a_tls_handshake_that_never_answers_times_out(silent_listener):
    port = silent_listener.port
    transport = SmtpTransport("127.0.0.1", port, security=SSL_ON_CONNECT, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        transport.open()
    assert time.monotonic() - started < 3
    assert (caught.value.step, caught.value.transient) == ("tls", True)
    assert "within 1 s" in caught.value.message


def test_a_slow_data_reply_times_out(smtp_server):
    server = smtp_server(data_delay=2.0)
    with plain(server, timeout=0.5) as transport:
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            transport.send(message())
        assert time.monotonic() - started < 2
    assert (caught.value.step, caught.value.transient) == ("data", True)
    assert "0.5 s" in caught.value.message


def test_no_host_is_a_configuration_error():
    with pytest.raises(DeliveryError) as caught:
        SmtpTransport("", 25).open()
    assert (caught.value.step, caught.value.transient) == ("connect", False)
    assert "Umbraco:CMS:Global:Smtp:Host" in caught.value.message


def test_unknown_security_option_is_rejected():
    with pytest.raises(ValueError, match="security must be one of"):
        SmtpTransport("smtp.example.com", 25, security="Sometimes")


@pytest.mark.parametrize(
    ("port", "security", "description"),
    [
        (587, START_TLS, "smtp.example.com:587 via STARTTLS"),
        (465, SSL_ON_CONNECT, "smtp.example.com:465 via implicit TLS"),
        (465, "Auto", "smtp.example.com:465 via implicit TLS"),
        (25, NONE, "smtp.example.com:25 without TLS"),
        (25, START_TLS_WHEN_AVAILABLE, "smtp.example.com:25 (STARTTLS when offered)"),
        (587, "Auto", "smtp.example.com:587 (STARTTLS when offered)"),
    ],
)
def test_description(port, security, description):
    transport = SmtpTransport("smtp.example.com", port, security=security)
    assert transport.description == description
    assert description in repr(transport)


def test_from_settings():
    settings = SmtpSettings(
        host=Setting("smtp.example.com", "env"),
        port=Setting(587, "env"),
        username=Setting("site", "env"),
        password=Setting(Secret("pw"), "env"),
        secure_socket_options=Setting(START_TLS, "env"),
        client_domain=Setting("www.example.com", "env"),
        ca_file=Setting("/etc/ssl/private-ca.pem", "env"),
        timeout=Setting(12.5, "env"),
    )
    transport = SmtpTransport.from_settings(settings)
    assert (transport.host, transport.port, transport.security) == (
        "smtp.example.com",
        587,
        START_TLS,
    )
    assert (transport.username, transport.password) == ("site", Secret("pw"))
    assert (transport.client_domain, transport.ca_file, transport.timeout) == (
        "www.example.com",
        "/etc/ssl/private-ca.pem",
        12.5,
    )


def test_from_settings_defaults():
    transport = SmtpTransport.from_settings(SmtpSettings(host=Setting("mx.example.com", "env")))
    assert (transport.port, transport.security, transport.timeout) == (25, "Auto", 30.0)
    assert transport.username is None and transport.password is None
    implicit = SmtpSettings(
        host=Setting("mx.example.com", "env"),
        secure_socket_options=Setting(SSL_ON_CONNECT, "env"),
    )
    assert SmtpTransport.from_settings(implicit).port == 465
