"""Every limit of the relay, over raw SMTP on loopback (a trusted application: no login)."""

from __future__ import annotations

import socket
import time

import pytest

from postroom.applications.credentials import create_application
from postroom.delivery.models import OutboxMessage
from rawsmtp import RawClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]

BODY = b"From: app@example.com\r\nTo: user0@example.com\r\nSubject: Hi\r\n\r\nHello\r\n.\r\n"


@pytest.fixture(autouse=True)
def trusted() -> None:
    create_application("Local", ["example.com"], trusted_network_no_login=True)


def test_a_message_over_the_size_limit_gets_552_and_the_session_goes_on(relay_with) -> None:
    relay = relay_with(message_size=1000)
    with RawClient(relay.port) as client:
        client.envelope()
        big = b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n"
        reply = client.data(big * 20 + b".\r\n")
        assert reply.startswith(b"552 5.3.4 Message too big: the limit is 1000 bytes")
        assert client.command(b"MAIL FROM:<app@example.com>").startswith(b"250")
        assert client.command(b"RCPT TO:<user0@example.com>").startswith(b"250")
        assert client.data(BODY).startswith(b"250 2.0.0")
    assert OutboxMessage.objects.count() == 1


def test_a_size_announced_over_the_limit_is_refused_at_mail_from(relay_with) -> None:
    relay = relay_with(message_size=1000)
    with RawClient(relay.port) as client:
        assert client.reply().startswith(b"220")
        assert b"SIZE 1000" in client.command(b"EHLO client.example")
        assert client.command(b"MAIL FROM:<app@example.com> SIZE=5000").startswith(b"552")


def test_a_header_block_over_its_limit_gets_552(relay_with) -> None:
    relay = relay_with(header_size=200)
    with RawClient(relay.port) as client:
        client.envelope()
        headers = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"y" * 40) for n in range(10))
        reply = client.data(headers + b"\r\nbody\r\n.\r\n")
    assert reply.startswith(b"552 5.3.4 Message header too big")
    assert OutboxMessage.objects.count() == 0


def test_recipients_beyond_the_limit_get_452(relay_with) -> None:
    relay = relay_with(recipients=3)
    with RawClient(relay.port) as client:
        client.envelope(recipients=3)
        assert client.command(b"RCPT TO:<user3@example.com>").startswith(b"452 4.5.3")
        assert client.data(BODY).startswith(b"250")
    assert len(OutboxMessage.objects.get().envelope_recipients) == 3


def test_connections_beyond_the_total_limit_get_421(relay_with) -> None:
    relay = relay_with(connections=2)
    with RawClient(relay.port) as first, RawClient(relay.port, source="127.0.0.2") as second:
        assert first.reply().startswith(b"220") and second.reply().startswith(b"220")
        with RawClient(relay.port, source="127.0.0.3") as third:
            assert third.reply().startswith(b"421 4.7.0")


def test_connections_beyond_the_limit_for_one_client_get_421(relay_with) -> None:
    relay = relay_with(connections_per_client=2)
    with RawClient(relay.port) as first, RawClient(relay.port) as second:
        assert first.reply().startswith(b"220") and second.reply().startswith(b"220")
        with RawClient(relay.port) as third:
            reply = third.reply()
            assert reply.startswith(b"421 4.7.0") and b"connections from 127.0.0.1" in reply
        with RawClient(relay.port, source="127.0.0.2") as elsewhere:
            assert elsewhere.reply().startswith(b"220")


def test_a_silent_client_is_closed_after_the_command_timeout(relay_with) -> None:
    relay = relay_with(read_timeout=0.5)
    with RawClient(relay.port) as client:
        assert client.reply().startswith(b"220")
        started = time.monotonic()
        assert client.reply().startswith(b"421 4.4.2")
        assert time.monotonic() - started < 5
        assert client.reply() == b""  # closed


def test_each_command_gives_the_client_a_whole_timeout_again(relay_with) -> None:
    relay = relay_with(read_timeout=0.5)
    with RawClient(relay.port) as client:
        assert client.reply().startswith(b"220")
        for _ in range(5):  # 1 s in all, twice the timeout, never 0.5 s silent
            time.sleep(0.2)
            assert client.command(b"NOOP").startswith(b"250")
        last = time.monotonic()
        assert client.reply().startswith(b"421 4.4.2")
        assert 0.4 < time.monotonic() - last < 5


def test_a_client_that_goes_away_before_the_final_dot_leaves_no_message(relay_with) -> None:
    relay = relay_with()
    with RawClient(relay.port) as client:
        client.envelope()
        assert client.command(b"DATA").startswith(b"354")
        client.sock.sendall(BODY[:-3])  # all but the final ".\r\n"
        client.sock.shutdown(socket.SHUT_RDWR)
    time.sleep(0.3)  # were anything to be stored, it would be by now
    assert OutboxMessage.objects.count() == 0
    # The relay goes on serving.
    with RawClient(relay.port) as client:
        client.envelope()
        assert client.data(BODY).startswith(b"250")
    assert OutboxMessage.objects.count() == 1
