"""The catcher over real SMTP on loopback: plain, STARTTLS, AUTH, limits, busy ports."""

from __future__ import annotations

import smtplib
import socket
import ssl
import stat

import pytest

from emails import make_email
from postroom.inbox.models import CaughtMessage
from postroom.inbox.server import (
    MESSAGE_SIZE_LIMIT,
    InboxError,
    InboxPortInUse,
    InboxServer,
    Limits,
    start_inbox,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]


def _raw(subject: str = "Hello") -> bytes:
    return make_email(subject).as_bytes().replace(b"\n", b"\r\n")


def _insecure_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the catcher's certificate is self-signed
    return context


def _send(smtp: smtplib.SMTP, raw: bytes, recipients: list[str]) -> tuple[int, bytes]:
    smtp.ehlo()
    assert smtp.mail("app@example.com")[0] == 250
    for recipient in recipients:
        assert smtp.rcpt(recipient)[0] == 250
    return smtp.data(raw)


def test_plain_message_is_stored_byte_for_byte(inbox_server: InboxServer) -> None:
    raw = _raw("Plain")
    with smtplib.SMTP("127.0.0.1", inbox_server.port, timeout=10) as smtp:
        code, reply = _send(smtp, raw, ["user@example.com", "hidden@example.org"])
    stored = CaughtMessage.objects.get()
    assert code == 250
    assert reply.decode() == f"Message accepted for delivery (id {stored.pk})"
    assert bytes(stored.raw) == raw
    assert stored.size == len(raw)
    assert stored.envelope_sender == "app@example.com"
    # hidden@example.org is in no header: a Bcc recipient, known only from the envelope.
    assert stored.recipients_list == ["user@example.com", "hidden@example.org"]
    assert (stored.subject, stored.to_header) == ("Plain", "user@example.com")
    assert stored.message_id == "<test@example.com>"


def test_starttls_uses_the_generated_certificate(inbox_server: InboxServer) -> None:
    with smtplib.SMTP("127.0.0.1", inbox_server.port, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        smtp.starttls(context=_insecure_context())
        served = smtp.sock.getpeercert(binary_form=True)
        code, _ = _send(smtp, _raw("Over TLS"), ["user@example.com"])
    assert code == 250
    assert served == ssl.PEM_cert_to_DER_cert(inbox_server.cert_path.read_text())
    key = inbox_server.tls_dir / "key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert CaughtMessage.objects.get().subject == "Over TLS"


def test_the_certificate_is_kept_between_starts(inbox_server: InboxServer) -> None:
    first = inbox_server.cert_path.read_bytes()
    with InboxServer("127.0.0.1", 0, tls_dir=inbox_server.tls_dir):
        assert inbox_server.cert_path.read_bytes() == first


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_any_credentials_are_accepted_without_tls(inbox_server: InboxServer, mechanism) -> None:
    with smtplib.SMTP("127.0.0.1", inbox_server.port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.user, smtp.password = "whoever", "any password at all"
        method = smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login
        code, _ = smtp.auth(mechanism, method)
        assert code == 235
        assert _send(smtp, _raw(), ["user@example.com"])[0] == 250
    assert CaughtMessage.objects.count() == 1


def test_login_after_starttls(inbox_server: InboxServer) -> None:
    with smtplib.SMTP("127.0.0.1", inbox_server.port, timeout=10) as smtp:
        smtp.starttls(context=_insecure_context())
        smtp.login("user", "secret")
        smtp.sendmail("app@example.com", ["user@example.com"], _raw())
    assert CaughtMessage.objects.count() == 1


def test_long_lines_are_accepted(inbox_server: InboxServer) -> None:
    raw = _raw().replace(b"Plain body", b"x" * 5000)
    with smtplib.SMTP("127.0.0.1", inbox_server.port, timeout=10) as smtp:
        assert _send(smtp, raw, ["user@example.com"])[0] == 250
    assert bytes(CaughtMessage.objects.get().raw) == raw


def test_oversize_message_is_refused_with_552(tmp_path) -> None:
    server = InboxServer("127.0.0.1", 0, tls_dir=tmp_path, limits=Limits(message_size=2048))
    with server, smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.esmtp_features["size"] == "2048"
        code, reply = _send(smtp, _raw() + b"y" * 4096 + b"\r\n", ["user@example.com"])
        assert code == 552, reply
        # Announced sizes are checked up front too.
        assert smtp.mail("app@example.com", ["SIZE=4096"])[0] == 552
    assert CaughtMessage.objects.count() == 0


def test_default_limit_is_25_mib(inbox_server: InboxServer) -> None:
    assert MESSAGE_SIZE_LIMIT == 25 * 1024 * 1024
    with smtplib.SMTP("127.0.0.1", inbox_server.port, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.esmtp_features["size"] == str(MESSAGE_SIZE_LIMIT)


def test_busy_port_gives_a_clear_error(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InboxPortInUse) as raised:
            InboxServer("127.0.0.1", port, tls_dir=tmp_path).start()
    text = str(raised.value)
    assert f"port {port} is already in use" in text
    assert "POSTROOM_INBOX_PORT" in text and "--port" in text


def test_stop_closes_the_port(tmp_path) -> None:
    server = InboxServer("127.0.0.1", 0, tls_dir=tmp_path)
    server.start()
    port = server.port
    server.stop()
    server.stop()  # twice is harmless
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_start_inbox_keeps_its_certificate_in_the_data_dir(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("POSTROOM_DATA", str(tmp_path / "data"))
    server = start_inbox("127.0.0.1", 0)
    try:
        assert server.running
        assert server.cert_path == tmp_path / "data" / "inbox-tls" / "cert.pem"
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
            smtp.sendmail("app@example.com", ["user@example.com"], _raw())
    finally:
        server.stop()
    assert CaughtMessage.objects.count() == 1


def test_unwritable_certificate_dir_is_a_clear_error(tmp_path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the directory should be")
    with pytest.raises(InboxError, match="cannot keep its TLS certificate"):
        InboxServer("127.0.0.1", 0, tls_dir=blocker / "tls").start()
