"""Credentials never travel in clear unless the owner chose SecureSocketOptions None.

The servers here offer AUTH without TLS (as a server whose STARTTLS an attacker stripped
would seem to): a client that logs in anyway shows up in ``handler.commands``.
"""

from __future__ import annotations

import pytest

from postroom.config import current_smtp_settings
from postroom.config.urls import parse_fallback_url
from postroom.delivery.routing import relay_transport
from postroom.delivery.transports import transport_for
from postroom.delivery.transports.base import DeliveryError, OutgoingMessage
from postroom.delivery.transports.smtp import SmtpTransport
from postroom.health.probe import probe
from postroom.health.target import Target
from postroom.mailsettings.model import AUTO, NONE, START_TLS_WHEN_AVAILABLE, Secret

USER, PASSWORD = "mailer", "Heron-Teapot-8842-secret"
MESSAGE = OutgoingMessage("site@example.test", ("ada@example.test",), b"Subject: x\r\n\r\nHi\r\n")


@pytest.fixture
def no_starttls(smtp_server):
    """AUTH offered in clear, no STARTTLS, mail taken without a login."""
    return smtp_server(
        username=USER, password=PASSWORD, auth_require_tls=False, auth_required=False
    )


@pytest.mark.parametrize("security", [AUTO, START_TLS_WHEN_AVAILABLE])
def test_credentials_without_starttls_are_refused_and_never_sent(no_starttls, security):
    transport = SmtpTransport(
        no_starttls.host, no_starttls.port, security=security, username=USER, password=PASSWORD
    )
    with pytest.raises(DeliveryError) as caught:
        transport.send(MESSAGE)
    transport.close()
    error = caught.value
    assert (error.step, error.transient) == ("tls", False)
    assert f"{no_starttls.host}:{no_starttls.port} offers no STARTTLS" in error.message
    assert "unencrypted" in error.message and "remove STARTTLS" in error.message
    assert "SecureSocketOptions to None" in error.message  # and how to accept it on purpose
    assert "AUTH" not in no_starttls.handler.commands
    assert no_starttls.messages == []
    assert PASSWORD not in error.message


def test_the_health_probe_refuses_the_same(no_starttls):
    target = Target(no_starttls.host, no_starttls.port, AUTO, USER, Secret(PASSWORD))
    results = probe(target, 5)
    assert [r.step for r in results][-1] == "tls"
    assert results[-1].status == "error"
    assert "offers no STARTTLS" in results[-1].message
    assert "SecureSocketOptions to None" in results[-1].fix
    assert "AUTH" not in no_starttls.handler.commands


def test_security_none_logs_in_in_clear_because_the_owner_chose_it(no_starttls):
    with SmtpTransport(
        no_starttls.host, no_starttls.port, security=NONE, username=USER, password=PASSWORD
    ) as transport:
        assert transport.send(MESSAGE).reply.startswith("250")
    [received] = no_starttls.messages
    assert (received.login, received.tls) == (USER, False)


def test_the_probe_warns_when_the_owner_chose_cleartext(no_starttls):
    target = Target(no_starttls.host, no_starttls.port, NONE, USER, Secret(PASSWORD))
    steps = {r.step: r for r in probe(target, 5)}
    assert steps["security"].status == "warning"
    assert "password travels unencrypted" in steps["security"].message
    assert steps["auth"].status == "success"


def test_without_credentials_auto_goes_on_in_clear(no_starttls):
    with SmtpTransport(no_starttls.host, no_starttls.port, security=AUTO) as transport:
        assert transport.send(MESSAGE).reply.startswith("250")
    assert no_starttls.messages[0].tls is False
    assert "AUTH" not in no_starttls.handler.commands


def test_a_server_that_only_speaks_helo_gets_no_credentials(smtp_server):
    server = smtp_server(
        username=USER,
        password=PASSWORD,
        auth_require_tls=False,
        auth_required=False,
        ehlo_reply="502 5.5.1 No EHLO here",
    )
    transport = SmtpTransport(server.host, server.port, username=USER, password=PASSWORD)
    with pytest.raises(DeliveryError) as caught:
        transport.open()
    assert caught.value.step == "tls"
    assert server.handler.commands == ["EHLO", "HELO"]


def test_the_fallback_relay_with_smtp_url_refuses_cleartext_credentials(no_starttls):
    relay = relay_transport(
        parse_fallback_url(f"smtp://{USER}:{PASSWORD}@127.0.0.1:{no_starttls.port}")
    )
    with pytest.raises(DeliveryError) as caught:
        relay.open()
    assert caught.value.step == "tls" and "offers no STARTTLS" in caught.value.message
    assert "AUTH" not in no_starttls.handler.commands


def test_the_fallback_relay_logs_in_over_starttls(smtp_server, certificates, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))  # the relay's CA, trusted
    relay_server = smtp_server(
        tls_context=certificates.server_context(), username=USER, password=PASSWORD
    )
    relay = relay_transport(
        parse_fallback_url(f"smtp://{USER}:{PASSWORD}@127.0.0.1:{relay_server.port}")
    )
    with relay:
        relay.send(MESSAGE)
    [received] = relay_server.messages
    assert (received.login, received.tls) == (USER, True)


def test_the_development_inbox_route_takes_mail_without_tls(smtp_server, certificates):
    # The catcher offers STARTTLS with a self-signed certificate; its route uses no TLS and
    # no login, so neither the certificate nor the cleartext rule stand in its way.
    from postroom.delivery.routing import current_route

    catcher = smtp_server(tls_context=certificates.self_signed_context())
    from django.test import override_settings

    with override_settings(POSTROOM_INBOX_HOST=catcher.host, POSTROOM_INBOX_PORT=catcher.port):
        route = current_route()
        assert route is not None and route.development_inbox
        with route.make_transport() as transport:
            assert transport.send(MESSAGE).reply.startswith("250")
    assert catcher.messages[0].tls is False


def test_delivery_format_is_read_from_web_config(isolated_site):
    (isolated_site / "web.config").write_text(
        '<configuration><system.net><mailSettings><smtp from="site@example.test"'
        ' deliveryFormat="International"><network host="smtp.example.test" port="587" />'
        "</smtp></mailSettings></system.net></configuration>"
    )
    transport = transport_for(current_smtp_settings())
    assert transport.delivery_format == "International"


def test_delivery_format_defaults_to_seven_bit(isolated_site, monkeypatch):
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__Host", "smtp.example.test")
    monkeypatch.setenv("Umbraco__CMS__Global__Smtp__From", "site@example.test")
    assert transport_for(current_smtp_settings()).delivery_format == "SevenBit"
