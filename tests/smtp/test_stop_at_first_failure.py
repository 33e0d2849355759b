"""The session stops at the first failed step, and so do the transport and the health probe.

Each server here would let a client that goes on do more (log in, send mail): the tests fail
if anything after the failed step reaches it.
"""

from __future__ import annotations

import pytest

from postroom.delivery.transports.base import DeliveryError, OutgoingMessage
from postroom.delivery.transports.smtp import SmtpTransport
from postroom.health.probe import probe
from postroom.health.target import Target
from postroom.mailsettings.model import NONE, START_TLS, Secret
from postroom.smtp import FAILED, Server, Session, SmtpFailure

USER, PASSWORD = "mailer", "Otter-Lantern-5521-secret"
MESSAGE = OutgoingMessage("site@example.test", ("ada@example.test",), b"Subject: x\r\n\r\nHi\r\n")


def watched(server: Server) -> tuple[Session, list]:
    steps: list = []
    return Session(server, on_step=steps.append, deadline=5), steps


def open_failing(session: Session) -> SmtpFailure:
    with pytest.raises(SmtpFailure) as caught:
        session.open()
    return caught.value


def assert_stopped(session: Session, steps: list, step: str) -> None:
    """The failed step is the last one reported, and the session refuses to go on."""
    assert steps[-1].name == step and steps[-1].outcome == FAILED, steps
    assert all(s.outcome != FAILED for s in steps[:-1])
    reported = len(steps)
    with pytest.raises(RuntimeError, match="never goes on after a failure"):
        session.open()
    with pytest.raises(RuntimeError, match="never goes on after a failure"):
        session.send(MESSAGE.sender, MESSAGE.recipients, MESSAGE.raw)
    assert len(steps) == reported  # nothing was tried since


@pytest.fixture
def lenient(smtp_server):
    """A server that offers AUTH without TLS and takes mail without a login."""
    return lambda **options: smtp_server(
        username=USER, password=PASSWORD, auth_require_tls=False, auth_required=False, **options
    )


def test_dns(refused_port):
    session, steps = watched(Server("no-such-host.invalid", 25, username=USER, password=PASSWORD))
    failure = open_failing(session)
    assert failure.step == "dns"
    assert [s.name for s in steps] == ["dns"]
    assert_stopped(session, steps, "dns")


def test_tcp(refused_port):
    session, steps = watched(Server("127.0.0.1", refused_port, username=USER, password=PASSWORD))
    failure = open_failing(session)
    assert (failure.step, failure.transient) == ("connect", True)
    assert [s.name for s in steps] == ["dns", "connect"]
    assert_stopped(session, steps, "connect")


def test_tls_required_but_not_offered_sends_no_credentials(lenient):
    server = lenient()
    session, steps = watched(
        Server(server.host, server.port, START_TLS, username=USER, password=PASSWORD)
    )
    failure = open_failing(session)
    assert (failure.step, failure.transient) == ("tls", False)
    assert [s.name for s in steps] == ["dns", "connect", "banner", "ehlo", "tls"]
    assert_stopped(session, steps, "tls")
    assert server.handler.commands == ["EHLO"]  # no AUTH, no MAIL
    assert server.auth_attempts == []


def test_an_untrusted_certificate_sends_no_credentials(lenient, certificates):
    server = lenient(tls_context=certificates.server_context())
    session, steps = watched(
        Server(server.host, server.port, START_TLS, username=USER, password=PASSWORD)
    )
    failure = open_failing(session)
    assert failure.step == "tls" and "not trusted" in failure.message
    assert_stopped(session, steps, "certificate")
    assert "AUTH" not in server.handler.commands and "MAIL" not in server.handler.commands


def test_ehlo_and_helo_refused(lenient):
    server = lenient(ehlo_reply="550 5.7.1 Not here", helo_reply="550 5.7.1 Nor here")
    session, steps = watched(
        Server(server.host, server.port, NONE, username=USER, password=PASSWORD)
    )
    failure = open_failing(session)
    assert (failure.step, failure.reply) == ("ehlo", "550 5.7.1 Nor here")
    assert [s.name for s in steps] == ["dns", "connect", "banner", "ehlo"]
    assert_stopped(session, steps, "ehlo")
    assert server.handler.commands == ["EHLO", "HELO"]


def test_auth_refused_sends_no_mail(lenient):
    server = lenient()
    session, steps = watched(
        Server(server.host, server.port, NONE, username=USER, password="wrong-" + PASSWORD)
    )
    failure = open_failing(session)
    assert (failure.step, failure.transient) == ("auth", False)
    assert failure.reply.startswith("535")
    assert_stopped(session, steps, "auth")
    assert "MAIL" not in server.handler.commands


def test_the_transport_sends_nothing_after_a_failed_step(lenient):
    server = lenient()
    transport = SmtpTransport(
        server.host, server.port, security=START_TLS, username=USER, password=Secret(PASSWORD)
    )
    with pytest.raises(DeliveryError) as caught:
        transport.send(MESSAGE)
    transport.close()
    assert (caught.value.step, caught.value.transient) == ("tls", False)
    assert server.handler.commands == ["EHLO"]
    assert server.messages == []


def test_the_transport_starts_afresh_after_a_failed_open(lenient):
    server = lenient(ehlo_reply="421 4.3.2 Not now", helo_reply="421 4.3.2 Not now")
    transport = SmtpTransport(server.host, server.port, security=NONE)
    with pytest.raises(DeliveryError) as caught:
        transport.open()
    assert (caught.value.step, caught.value.transient) == ("ehlo", True)
    server.handler.ehlo_reply = server.handler.helo_reply = None
    with transport:
        assert transport.send(MESSAGE).reply.startswith("250")
    assert server.connections == 2


def test_the_probe_reports_up_to_the_failed_step_and_no_further(lenient):
    server = lenient()
    target = Target(server.host, server.port, START_TLS, username=USER, password=Secret(PASSWORD))
    results = probe(target, 5)
    assert [r.step for r in results] == ["dns", "connect", "banner", "ehlo", "tls"]
    assert results[-1].status == "error"
    assert "does not offer STARTTLS" in results[-1].message
    assert server.handler.commands == ["EHLO"]


def test_every_step_is_reported_with_its_reply_and_timing(smtp_server, certificates):
    server = smtp_server(
        tls_context=certificates.server_context(), username=USER, password=PASSWORD
    )
    session, steps = watched(
        Server(
            server.host,
            server.port,
            START_TLS,
            username=USER,
            password=PASSWORD,
            ca_file=str(certificates.ca_file),
        )
    )
    session.open()
    session.close()
    assert [(s.name, s.outcome) for s in steps] == [
        ("dns", "ok"),
        ("connect", "ok"),
        ("banner", "ok"),
        ("ehlo", "ok"),
        ("tls", "ok"),
        ("certificate", "ok"),
        ("ehlo", "ok"),
        ("auth", "ok"),
    ]
    replies = {s.name: s.reply for s in steps}
    assert replies["banner"].startswith("220 ")
    assert replies["tls"].startswith("220 ")
    assert replies["auth"].startswith("235 ")
    assert all(s.elapsed_ms is not None for s in steps if s.name != "certificate")
    assert all(PASSWORD not in f"{s.text} {s.fix} {s.reply}" for s in steps)
