"""The next message's envelope goes out behind this message's content (RFC 2920): one round
trip a message. What the server answers to either is read in order, and a message that is
not sent after all never reaches anyone's inbox."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest

from postroom.delivery import worker
from postroom.delivery.models import OutboxMessage
from postroom.delivery.transports.base import DeliveryError
from postroom.delivery.transports.smtp import SmtpTransport
from postroom.mailsettings.model import NONE
from sites import queue_mail, use_smtp_server

from .samples import RECIPIENT, SENDER, message, raw_message
from .scripted import ScriptedServer

ENVELOPE = f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{RECIPIENT}>\r\nDATA\r\n".encode()
ENVELOPE_REPLIES = b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 Go ahead\r\n"


class AheadOnlyServer(ScriptedServer):
    """Answers a message's content only once the next message's envelope (one recipient)
    has come with it.

    Only a client that sends the next envelope behind the content gets the first ``ahead``
    messages through; one that waits for the content's reply first times out. The last
    message is answered on its own. Records every chunk as it arrived.
    """

    def __init__(self, messages: int) -> None:
        self.messages = messages
        self.accepted = 0
        super().__init__()

    def _converse(self, connection: socket.socket) -> None:
        self._read_until(connection, b"DATA\r\n")
        connection.sendall(ENVELOPE_REPLIES)
        for number in range(1, self.messages + 1):
            last = number == self.messages
            if not self._read_until(connection, b"\r\n.\r\n"):
                return
            if not last and not self._read_until(connection, b"DATA\r\n"):
                return
            self.accepted += 1
            reply = f"250 2.0.0 Ok: queued as {number}\r\n".encode()
            connection.sendall(reply if last else reply + ENVELOPE_REPLIES)
        self._read_until(connection, b"\r\n")
        connection.sendall(b"221 Bye\r\n")


class LineServer:
    """Answers each command as it reads it, in order (as most servers do), offering
    PIPELINING or not; records every chunk as it arrived and counts messages accepted.

    ``sync_check``: a MAIL that came in the same read as the end of the previous content is
    refused with 554 and the connection closed, as a server that holds pipelining behind
    content against the client would.
    """

    def __init__(
        self, *, pipelining: bool = True, sync_check: bool = False, refuse: bytes = b""
    ) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # to see close() soon
        self._closed = threading.Event()
        self.port = self._listener.getsockname()[1]
        self.pipelining, self.sync_check = pipelining, sync_check
        self.refuse = refuse  # a sender refused at MAIL, whatever way it came
        self.chunks: list[bytes] = []
        self.accepted = 0
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with connection, contextlib.suppress(OSError):  # a client that hangs up
                connection.settimeout(5)
                self._session(connection)

    def _session(self, connection: socket.socket) -> None:
        connection.sendall(b"220 lines.test ESMTP\r\n")
        buffer, reads, in_data, dot_read, has_mail = b"", 0, False, -1, False
        while True:
            try:
                chunk = connection.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            self.chunks.append(chunk)
            buffer, reads = buffer + chunk, reads + 1
            while True:
                if in_data:
                    end = buffer.find(b"\r\n.\r\n")
                    if end < 0:
                        break
                    buffer, in_data, dot_read = buffer[end + 5 :], False, reads
                    self.accepted += 1
                    connection.sendall(b"250 2.0.0 Ok: queued as %d\r\n" % self.accepted)
                    continue
                if b"\r\n" not in buffer:
                    break
                line, buffer = buffer.split(b"\r\n", 1)
                verb = line[:4].upper()
                if verb == b"EHLO":
                    offer = b"250-PIPELINING\r\n" if self.pipelining else b""
                    connection.sendall(b"250-lines.test\r\n" + offer + b"250 8BITMIME\r\n")
                elif verb == b"MAIL" and self.sync_check and dot_read == reads:
                    connection.sendall(b"554 5.5.0 Error: SMTP protocol synchronization\r\n")
                    return
                elif verb == b"MAIL" and self.refuse and self.refuse in line:
                    connection.sendall(b"550 5.7.1 Sender rejected\r\n")
                elif verb in (b"RCPT", b"DATA") and not has_mail:
                    connection.sendall(b"503 5.5.1 Error: need MAIL command\r\n")
                elif verb in (b"MAIL", b"RCPT", b"RSET"):
                    has_mail = verb != b"RSET"
                    connection.sendall(b"250 Ok\r\n")
                elif verb == b"DATA":
                    connection.sendall(b"354 Go ahead\r\n")
                    in_data, has_mail = True, False
                elif verb == b"QUIT":
                    connection.sendall(b"221 Bye\r\n")
                    return
                else:
                    connection.sendall(b"500 What?\r\n")

    def after_last_data(self) -> bytes:
        return b"".join(self.chunks).rpartition(b"DATA\r\n")[2]

    def went_ahead(self) -> bool:
        """Whether an envelope came in the same read as the end of a content."""
        return any(b".\r\nMAIL FROM" in chunk for chunk in self.chunks)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        self._listener.close()


def plain(port: int, timeout: float = 3.0) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", port, security=NONE, timeout=timeout)


def test_the_next_envelope_goes_out_with_the_content():
    server = AheadOnlyServer(messages=3)
    batch = [message(1), message(2), message(3)]
    try:
        with plain(server.port) as transport:
            replies = [
                transport.send(batch[0], then=batch[1]).reply,
                transport.send(batch[1], then=batch[2]).reply,
                transport.send(batch[2]).reply,
            ]
    finally:
        server.close()
    assert replies == [f"250 2.0.0 Ok: queued as {n}" for n in (1, 2, 3)]
    content_and_envelope = [c for c in server.chunks if c.endswith(b".\r\n" + ENVELOPE)]
    assert len(content_and_envelope) == 2  # in one write each: one round trip a message


def test_without_the_next_message_the_content_waits_for_its_reply():
    server = AheadOnlyServer(messages=2)
    try:
        with plain(server.port, timeout=0.5) as transport:
            transport.send(message(1))
            pytest.fail("the server answers the content only with the next envelope")
    except DeliveryError as error:
        assert error.step == "data" and error.transient
    finally:
        server.close()
    assert server.accepted == 0


def test_a_refused_content_leaves_the_envelope_ahead_to_its_message(smtp_server):
    server = smtp_server(pipelining=True)
    handler = server.handler
    original = handler.handle_DATA

    async def refuse_the_first(server_, session, envelope):
        if b"Subject: Test 1\r\n" in envelope.original_content:
            handler.commands.append("DATA")
            return "554 5.7.1 Rejected as spam"
        return await original(server_, session, envelope)

    handler.handle_DATA = refuse_the_first
    with plain(server.port) as transport:
        with pytest.raises(DeliveryError) as refused:
            transport.send(message(1), then=message(2))
        accepted = transport.send(message(2), then=message(3))
        last = transport.send(message(3))
    assert refused.value.step == "data" and not refused.value.transient
    assert accepted.reply.startswith("250") and last.reply.startswith("250")
    # An RSET after the refusal would have gone in as message 2's content.
    assert [m.raw for m in server.messages] == [raw_message(2), raw_message(3)]
    assert server.connections == 1


def test_a_refused_envelope_ahead_fails_only_its_own_message(smtp_server):
    gone = "gone@example.test"
    server = smtp_server(pipelining=True, refuse={gone: "550 5.1.1 No such user"})
    with plain(server.port) as transport:
        transport.send(message(1), then=message(2, recipients=(gone,)))
        with pytest.raises(DeliveryError) as refused:
            transport.send(message(2, recipients=(gone,)), then=message(3))
        transport.send(message(3))
    assert refused.value.step == "rcpt" and "No such user" in refused.value.message
    assert [m.raw.split(b"Subject: ")[1][:6] for m in server.messages] == [b"Test 1", b"Test 3"]
    assert server.connections == 1


def test_another_message_than_the_one_announced_gets_a_fresh_connection(smtp_server):
    # The envelope sent ahead may be waiting for its content: nothing may be sent as that.
    server = smtp_server(pipelining=True)
    with plain(server.port) as transport:
        transport.send(message(1), then=message(2))
        transport.send(message(3))
    assert [m.raw.split(b"Subject: ")[1][:6] for m in server.messages] == [b"Test 1", b"Test 3"]
    assert server.connections == 2


def test_closing_with_an_envelope_ahead_says_nothing_more():
    # That envelope may have been answered 354: a QUIT would go in as message 2's content.
    server = AheadOnlyServer(messages=2)
    try:
        transport = plain(server.port)
        transport.send(message(1), then=message(2))
        transport.close()
    finally:
        server.close()
    assert server.accepted == 1
    assert not any(b"quit" in chunk.lower() for chunk in server.chunks)


def test_a_server_without_pipelining_gets_each_envelope_on_its_turn():
    server = LineServer(pipelining=False)
    try:
        with plain(server.port) as transport:
            transport.send(message(1), then=message(2))
            transport.send(message(2))
    finally:
        server.close()
    assert server.accepted == 2
    assert server.connections == 1
    assert not server.went_ahead()


def test_a_server_that_refuses_an_envelope_behind_content_gets_each_on_its_turn():
    # Such a server says 554 to the MAIL that came with the content: that message is sent
    # once more on a fresh connection, and no envelope goes ahead on that session again.
    server = LineServer(sync_check=True)
    batch = [message(n) for n in (1, 2, 3, 4)]
    try:
        with plain(server.port) as transport:
            replies = [
                transport.send(mail, then=batch[n + 1] if n + 1 < len(batch) else None).reply
                for n, mail in enumerate(batch)
            ]
    finally:
        server.close()
    assert [reply[:3] for reply in replies] == ["250"] * 4
    assert server.accepted == 4
    assert server.connections == 2


def test_a_sender_refused_ahead_and_again_on_its_own_turn_is_a_real_refusal():
    server = LineServer(refuse=b"<bad@example.test>")
    batch = [message(1), message(2, sender="bad@example.test"), message(3), message(4)]
    try:
        with plain(server.port) as transport:
            transport.send(batch[0], then=batch[1])
            with pytest.raises(DeliveryError) as refused:
                transport.send(batch[1], then=batch[2])
            transport.send(batch[2], then=batch[3])
            transport.send(batch[3])
    finally:
        server.close()
    assert refused.value.step == "mail" and not refused.value.transient
    assert server.accepted == 3
    assert server.connections == 2  # the retry's; envelopes still go ahead on it
    assert sum(chunk.count(b".\r\nMAIL FROM") for chunk in server.chunks) == 2  # 1+2, 3+4


def test_what_before_content_raises_on_the_second_try_is_raised_as_is():
    # The database, not the message: the worker stops the batch (no failed attempt saved).
    class Gone(Exception):
        pass

    def lease_lost() -> None:
        raise Gone

    server = LineServer(sync_check=True)
    try:
        with plain(server.port) as transport:
            transport.send(message(1), then=message(2))
            with pytest.raises(Gone):
                transport.send(message(2), before_content=lease_lost)
    finally:
        server.close()
    assert server.accepted == 1


def test_a_next_message_that_cannot_be_prepared_leaves_this_one_alone(monkeypatch):
    from postroom.delivery.transports import smtp

    def crlf_or_crash(raw: bytes) -> bytes:
        if b"Test 2" in raw:
            raise RuntimeError("stands for a bug that message 2 triggers")
        return raw

    monkeypatch.setattr(smtp, "to_crlf", crlf_or_crash)
    server = LineServer()
    try:
        with plain(server.port) as transport:
            reply = transport.send(message(1), then=message(2)).reply
    finally:
        server.close()
    assert reply.startswith("250")
    assert server.accepted == 1
    assert not server.went_ahead()


def test_a_server_that_hangs_up_after_each_message_gets_the_next_one_anew(smtp_server):
    # Some providers end a session after so many messages: the envelope sent ahead finds the
    # connection closed before its MAIL is answered, so nothing of it was taken: start afresh.
    server = smtp_server(pipelining=True)
    handler = server.handler
    mail, data = handler.handle_MAIL, handler.handle_DATA

    async def one_per_session(server_, session, envelope, address, options):
        if getattr(session, "served", 0):
            return handler._hang_up(server_)
        return await mail(server_, session, envelope, address, options)

    async def count(server_, session, envelope):
        session.served = getattr(session, "served", 0) + 1
        return await data(server_, session, envelope)

    handler.handle_MAIL, handler.handle_DATA = one_per_session, count
    with plain(server.port) as transport:
        transport.send(message(1), then=message(2))
        transport.send(message(2))
    assert len(server.messages) == 2
    assert server.connections == 2


@pytest.mark.django_db
def test_the_worker_sends_each_next_envelope_with_the_content(isolated_site):
    server = AheadOnlyServer(messages=4)
    try:
        use_smtp_server(isolated_site, server.port, timeout=3)
        rows = queue_mail(4)
        assert worker.run_once() == 4
    finally:
        server.close()
    assert server.accepted == 4
    for row in rows:
        row.refresh_from_db()
        assert row.status == "sent", row.last_reply


@pytest.mark.django_db
def test_under_a_rate_limit_no_envelope_goes_ahead_of_its_permit(isolated_site, monkeypatch):
    # The next message's permit is not at hand: its envelope must not wait on the server.
    server = LineServer()
    try:
        use_smtp_server(isolated_site, server.port, timeout=3)
        monkeypatch.setenv("Postroom__Delivery__MessagesPerSecond", "40")
        queue_mail(3)
        assert worker.run_once() == 3
    finally:
        server.close()
    assert server.accepted == 3
    assert not server.went_ahead()


@pytest.mark.django_db
def test_a_worker_told_to_stop_leaves_the_message_whose_envelope_went_ahead_queued(
    isolated_site, monkeypatch
):
    server = LineServer()
    stop = threading.Event()
    send = SmtpTransport.send

    def send_then_stop(self, message, before_content=None, then=None):
        result = send(self, message, before_content, then)
        stop.set()  # the worker is told to stop while this message was on its way
        return result

    monkeypatch.setattr(SmtpTransport, "send", send_then_stop)
    try:
        use_smtp_server(isolated_site, server.port, timeout=3)
        rows = queue_mail(3)
        worker.Worker().run_once(stop)
    finally:
        server.close()
    assert server.accepted == 1
    assert b"quit" not in server.after_last_data().lower()  # it would be message 2's content
    assert b"rset" not in server.after_last_data().lower()
    statuses = [OutboxMessage.objects.get(pk=row.pk).status for row in rows]
    assert statuses == ["sent", "queued", "queued"]


@pytest.mark.django_db
def test_a_reconnect_refused_in_the_middle_of_a_batch_leaves_the_message_queued(
    isolated_site, monkeypatch
):
    # Opening anew within a send (the server dropped the connection, or refused an envelope
    # sent ahead) can meet a 5xx greeting: that says nothing about the message.
    server = LineServer()
    send = SmtpTransport.send

    def refused_greeting_for_the_second(self, message, before_content=None, then=None):
        if b"Message 1" in message.raw:
            raise DeliveryError("554 No service", step="banner", transient=False, reply="554")
        return send(self, message, before_content, then)

    monkeypatch.setattr(SmtpTransport, "send", refused_greeting_for_the_second)
    try:
        use_smtp_server(isolated_site, server.port, timeout=3)
        rows = queue_mail(3)
        worker.run_once()
    finally:
        server.close()
    statuses = [OutboxMessage.objects.get(pk=row.pk).status for row in rows]
    assert statuses == ["sent", "queued", "sent"]
