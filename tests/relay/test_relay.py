"""The relay over real SMTP on loopback, spoken by smtplib: login, senders, storage, refusals."""

from __future__ import annotations

import base64
import smtplib
import threading

import pytest
from django.db import OperationalError

from postroom.applications.credentials import create_application
from postroom.delivery.models import Kind, OutboxMessage
from postroom.relay import server as relay_server
from postroom.relay import store
from rawsmtp import RawClient
from relay.conftest import SENDER, insecure_context, message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]


def test_starttls_and_login_then_the_message_is_in_the_outbox_as_received(
    logged_in, application
) -> None:
    app, _ = application
    raw = message("Order 1")
    refused = logged_in.sendmail(SENDER, ["ann@example.net", "hidden@example.net"], raw)
    assert refused == {}
    row = OutboxMessage.objects.get()
    assert row.kind == Kind.RELAY
    assert row.application_id == app.pk
    assert row.raw.startswith(b"Received: from ")
    assert b"by postroom-relay (Postroom relay) with ESMTPSA;" in row.raw
    assert row.raw.endswith(raw)  # the message itself, byte for byte
    assert row.envelope_recipients == ("ann@example.net", "hidden@example.net")
    assert row.bcc == "hidden@example.net"  # the Bcc is kept, though no header names it
    assert row.sender == SENDER


def test_the_250_names_the_outbox_id(logged_in) -> None:
    logged_in.mail(SENDER)
    logged_in.rcpt("ann@example.net")
    code, reply = logged_in.data(message())
    assert code == 250
    assert reply.decode().endswith(f"queued as {OutboxMessage.objects.get().pk}")


def test_auth_login_works_as_well_as_plain(relay, application) -> None:
    app, secret = application
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.starttls(context=insecure_context())
        client.ehlo()
        assert client.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
        client.user, client.password = app.username, secret
        code, _ = client.auth("LOGIN", client.auth_login)
        assert code == 235
        client.sendmail(SENDER, ["ann@example.net"], message())
    assert OutboxMessage.objects.count() == 1


def test_login_is_offered_only_after_tls(relay, application) -> None:
    app, secret = application
    with RawClient(relay.port) as client:
        assert client.reply().startswith(b"220")
        features = client.command(b"EHLO client.example")
        assert b"STARTTLS" in features and b"AUTH" not in features
        token = base64.b64encode(f"\0{app.username}\0{secret}".encode())
        assert client.command(b"AUTH PLAIN " + token).startswith(b"538 5.7.11")
        assert client.command(b"MAIL FROM:<shop@example.org>").startswith(b"530 5.7.0")


def test_a_wrong_secret_is_refused_and_nothing_can_be_sent(relay, application) -> None:
    app, secret = application
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.starttls(context=insecure_context())
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login(app.username, secret[:-1] + ("x" if secret[-1] != "x" else "y"))
        assert refused.value.smtp_code == 535
        with pytest.raises(smtplib.SMTPSenderRefused) as no_login:
            client.sendmail(SENDER, ["ann@example.net"], message())
        assert no_login.value.smtp_code == 530
    assert OutboxMessage.objects.count() == 0


def test_failed_logins_from_one_address_are_limited(relay, application, monkeypatch) -> None:
    monkeypatch.setattr(relay_server, "FAILED_LOGIN_LIMIT", 3)
    app, secret = application

    def plain(password: str) -> str:
        return "PLAIN " + base64.b64encode(f"\0{app.username}\0{password}".encode()).decode()

    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.starttls(context=insecure_context())
        client.ehlo()
        for _ in range(3):
            assert client.docmd("AUTH", plain("pr_000000000000_" + "x" * 43))[0] == 535
        # Now even the right secret is not checked: the guesser is cut off.
        code, reply = client.docmd("AUTH", plain(secret))
    assert code == 421
    assert b"Too many failed logins from 127.0.0.1" in reply
    # Another connection from the same address fares no better.
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.starttls(context=insecure_context())
        client.ehlo()
        assert client.docmd("AUTH", plain(secret))[0] == 421


def test_a_disabled_application_cannot_log_in(relay, application) -> None:
    app, secret = application
    app.enabled = False
    app.save()
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.starttls(context=insecure_context())
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(app.username, secret)


def test_a_sender_the_application_may_not_use_is_refused_with_550_5_7_1(logged_in) -> None:
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        logged_in.sendmail("ceo@other.example", ["ann@example.net"], message())
    assert refused.value.smtp_code == 550
    assert refused.value.smtp_error.startswith(b"5.7.1 The application Shop may not send as")
    assert OutboxMessage.objects.count() == 0


def test_a_from_header_the_application_may_not_use_is_refused(logged_in) -> None:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        logged_in.sendmail(SENDER, ["ann@example.net"], message(sender="ceo@other.example"))
    assert refused.value.smtp_code == 550
    assert b"5.7.1" in refused.value.smtp_error and b"From header" in refused.value.smtp_error
    assert OutboxMessage.objects.count() == 0


def test_a_client_outside_the_application_networks_is_refused(relay) -> None:
    app, secret = create_application("Remote", ["example.org"], client_networks=["192.0.2.0/24"])
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.starttls(context=insecure_context())
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login(app.username, secret)
    assert b"may not connect from 127.0.0.1" in refused.value.smtp_error


def test_a_trusted_application_on_loopback_sends_without_login(relay) -> None:
    app, _ = create_application("Local", ["example.org"], trusted_network_no_login=True)
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        assert client.sendmail(SENDER, ["ann@example.net"], message()) == {}
    row = OutboxMessage.objects.get()
    assert row.application_id == app.pk
    assert b"with ESMTP;" in row.raw  # neither TLS nor a login


def test_the_application_rate_limit_answers_452(relay) -> None:
    create_application(
        "Slow", ["example.org"], trusted_network_no_login=True, rate_limit_per_minute=2
    )
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        for n in range(2):
            client.sendmail(SENDER, ["ann@example.net"], message(f"Number {n}"))
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(SENDER, ["ann@example.net"], message("One too many"))
    assert refused.value.smtp_code == 452
    assert OutboxMessage.objects.count() == 2


def test_when_the_database_cannot_take_the_message_the_answer_is_451(
    logged_in, monkeypatch
) -> None:
    def broken(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(store, "enqueue_raw_many", broken)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        logged_in.sendmail(SENDER, ["ann@example.net"], message())
    assert refused.value.smtp_code == 451
    assert OutboxMessage.objects.count() == 0


def test_one_bad_message_in_a_batch_costs_the_others_nothing(monkeypatch) -> None:
    real = store.enqueue_raw_many
    batches: list[int] = []

    def refuse_one(items):
        batches.append(len(items))
        if any(b"Subject: Bad" in item.raw for item in items):
            raise OperationalError("this one cannot be stored")
        return real(items)

    monkeypatch.setattr(store, "enqueue_raw_many", refuse_one)
    committer = store.Committer()
    try:
        incoming = []
        for subject in ("Good 1", "Bad", "Good 2"):
            import io

            raw = message(subject)
            incoming.append(
                store.Incoming(b"", io.BytesIO(raw), len(raw), SENDER, ["ann@example.net"], None)
            )
        # Handed over together, so they are written as one batch first.
        futures = [committer.submit(each) for each in incoming]
        outcomes = [f.exception(10) for f in futures]
    finally:
        committer.close()
    assert [type(o).__name__ if o else None for o in outcomes] == [None, "OperationalError", None]
    assert OutboxMessage.objects.count() == 2
    assert batches[-2:] == [1, 1]  # the bad one and the one after it, each on its own


def test_eight_sessions_at_once_each_get_their_own_250(relay) -> None:
    create_application("Local", ["example.org"], trusted_network_no_login=True)
    replies: list[str] = []

    def send(n: int) -> None:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
            client.ehlo()
            for m in range(5):
                client.mail(SENDER)
                client.rcpt("ann@example.net")
                code, reply = client.data(message(f"Session {n} message {m}"))
                replies.append(f"{code} {reply.decode()}")

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(replies) == 40 and all(r.startswith("250 2.0.0 Ok: queued as") for r in replies)
    ids = {int(r.rsplit(" ", 1)[1]) for r in replies}
    assert ids == set(OutboxMessage.objects.values_list("id", flat=True))


def test_implicit_tls_port(relay_with, application) -> None:
    from processes import free_port

    relay = relay_with(tls_port=free_port())
    app, secret = application
    with smtplib.SMTP_SSL(
        "127.0.0.1", relay.tls_port, timeout=10, context=insecure_context()
    ) as client:
        client.login(app.username, secret)
        client.sendmail(SENDER, ["ann@example.net"], message())
    assert b"with ESMTPSA;" in OutboxMessage.objects.get().raw


def test_the_commit_before_the_250_is_synced_to_disk(logged_in, monkeypatch) -> None:
    from django.db import connection

    real = store.enqueue_raw_many
    seen: list[str] = []

    def recording(*args, **kwargs):
        with connection.cursor() as cursor:  # the writer thread's own connection
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA synchronous")
            else:
                cursor.execute("SHOW synchronous_commit")
            seen.append(str(cursor.fetchone()[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "enqueue_raw_many", recording)
    logged_in.sendmail(SENDER, ["ann@example.net"], message())
    assert seen == ["2" if connection.vendor == "sqlite" else "on"]  # 2: FULL


def test_a_session_remembers_its_senders_answers_until_its_application_changes() -> None:
    shop, _ = create_application("Shop", ["example.org"])
    other, _ = create_application("Other", ["other.org"])
    session = relay_server.RelaySMTP.__new__(relay_server.RelaySMTP)
    session.application, session._senders = shop, {}
    assert session.may_send_as(SENDER) and not session.may_send_as("x@other.org")
    assert session.may_send_as(SENDER)  # answered from what it remembers
    assert session._senders == {SENDER: True, "x@other.org": False}
    session.application = other
    session._senders.clear()  # as a login does
    assert not session.may_send_as(SENDER) and session.may_send_as("x@other.org")
