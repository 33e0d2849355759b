"""`postroom sendtest ADDRESS`: the server's reply, or exactly what went wrong; exit 0 or 1."""

import json

import pytest
from django.core.management import CommandError, call_command

from postroom.delivery.models import OutboxMessage

pytestmark = pytest.mark.django_db


def configure(site, ca_file=None, **smtp):
    smtp = {"From": "site@example.org", "Host": "127.0.0.1", **smtp}
    config = {"Umbraco": {"CMS": {"Global": {"Smtp": smtp}}}}
    if ca_file:
        config["Postroom"] = {"Smtp": {"CaFile": str(ca_file)}}
    (site / "appsettings.json").write_text(json.dumps(config))


def test_prints_the_servers_reply(isolated_site, smtp_server, capsys):
    server = smtp_server()
    configure(isolated_site, Port=server.port, SecureSocketOptions="None")
    call_command("sendtest", "me@example.net")
    out = capsys.readouterr().out
    assert f"via 127.0.0.1:{server.port} without TLS" in out
    assert f"Sent to 127.0.0.1:{server.port} without TLS. The server replied: 250" in out
    assert server.messages[0].rcpt_tos == ("me@example.net",)
    assert OutboxMessage.objects.get().kind == "test"


def test_connection_refused_is_explained(isolated_site, refused_port, caplog):
    configure(isolated_site, Port=refused_port, SecureSocketOptions="None")
    with pytest.raises(CommandError, match="(?i)connection refused"):
        call_command("sendtest", "me@example.net")
    assert OutboxMessage.objects.get().status == "failed"
    # The error is printed once, as the command's error, not again as a log line.
    assert not [r for r in caplog.records if "failed at" in r.getMessage()]


def test_without_the_development_inbox_it_says_to_start_it(isolated_site, refused_port, settings):
    settings.POSTROOM_INBOX_PORT = refused_port  # no SMTP settings: mail goes to the catcher
    with pytest.raises(CommandError) as raised:
        call_command("sendtest", "me@example.net")
    said = str(raised.value)
    assert f"the development inbox at 127.0.0.1:{refused_port} is not running" in said
    assert "connection refused" in said
    assert "`postroom serve`" in said and "configure SMTP" in said
    assert "587" not in said  # not the advice for a real SMTP server's port


def test_a_rejected_login_quotes_the_535_reply(isolated_site, smtp_server, certificates):
    server = smtp_server(
        tls_context=certificates.server_context(), username="mailer", password="right-one"
    )
    configure(
        isolated_site,
        Port=server.port,
        SecureSocketOptions="StartTls",
        Username="mailer",
        Password="wrong-one-xyz",
        ca_file=certificates.ca_file,
    )
    with pytest.raises(CommandError, match="535") as raised:
        call_command("sendtest", "me@example.net")
    assert "auth" in str(raised.value)
    assert "wrong-one-xyz" not in str(raised.value)


def test_in_production_without_settings_it_says_there_is_no_transport(monkeypatch):
    monkeypatch.setenv("POSTROOM_ENVIRONMENT", "Production")
    with pytest.raises(CommandError, match="SMTP is not configured"):
        call_command("sendtest", "me@example.net")


def test_a_bad_address_is_refused(isolated_site):
    with pytest.raises(CommandError, match="not a valid email address"):
        call_command("sendtest", "not-an-address")
