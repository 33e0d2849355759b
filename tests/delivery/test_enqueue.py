"""Every email enters the outbox in the caller's transaction; nothing is sent from the request."""

import email

import pytest
from django.core.mail import EmailMessage, send_mail
from django.db import transaction

from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import OutboxMessage
from postroom.delivery.wakeup import Waiter


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_no_email():
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(EmailMessage("Hello", "Body", to=["a@example.net"]))
        raise RuntimeError("the caller fails after queueing")
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_workers_are_woken_only_after_commit():
    waiter = Waiter()
    waiter.wait(0.01)  # forget earlier wake-ups
    with transaction.atomic():
        enqueue(EmailMessage("Hello", "Body", to=["a@example.net"]))
        assert not waiter.wait(0.3)
    assert waiter.wait(2.0)
    waiter.close()
    assert OutboxMessage.objects.get().status == "queued"


@pytest.mark.django_db
def test_the_stored_message_is_the_rfc5322_bytes_with_a_stable_message_id():
    row = enqueue(
        EmailMessage(
            "Grüße",
            "Body",
            from_email="Site <site@example.org>",
            to=["a@example.net"],
            cc=["c@example.net"],
            bcc=["hidden@example.net"],
        ),
        kind="form",
    )
    parsed = email.message_from_bytes(bytes(row.raw))
    assert parsed["Message-ID"] == row.message_id
    assert row.message_id.endswith("@example.org>")
    assert row.kind == "form"
    assert row.sender == "site@example.org"
    assert (row.to, row.cc, row.bcc) == ("a@example.net", "c@example.net", "hidden@example.net")
    assert row.subject == "Grüße"
    assert "hidden@example.net" not in bytes(row.raw).decode()
    assert row.envelope_recipients == ("a@example.net", "c@example.net", "hidden@example.net")


@pytest.mark.django_db
def test_an_idn_sender_gets_an_ascii_message_id_the_same_on_enqueue_and_resend():
    from postroom.delivery.actions import resend

    row = enqueue(
        EmailMessage("Hi", "Body", from_email="Zoë <info@bücher.example>", to=["a@x.net"])
    )
    header = email.message_from_bytes(bytes(row.raw))["Message-ID"]
    # Not "=?utf-8?...?=": an encoded word is no Message-ID, and replies would not thread.
    assert header == row.message_id and header.endswith("@xn--bcher-kva.example>")
    assert header.isascii() and "=?" not in header

    resend(OutboxMessage.objects.filter(pk=row.pk))
    copy = OutboxMessage.objects.exclude(pk=row.pk).get()
    assert copy.message_id != row.message_id
    assert copy.message_id.endswith("@xn--bcher-kva.example>")


@pytest.mark.django_db
def test_django_send_mail_goes_through_the_outbox(settings):
    from postroom import settings as postroom_settings

    # Django's test set-up swaps in its in-memory backend; put Postroom's configured one back.
    settings.EMAIL_BACKEND = postroom_settings.EMAIL_BACKEND
    assert send_mail("Via Django", "Body", None, ["a@example.net"]) == 1
    row = OutboxMessage.objects.get()
    assert row.kind == "system"
    assert row.status == "queued"


@pytest.mark.django_db
def test_the_sender_defaults_to_the_smtp_from_setting(isolated_site):
    (isolated_site / "appsettings.json").write_text(
        '{"Umbraco": {"CMS": {"Global": {"Smtp": {"From": "owner@example.org", "Host": "h"}}}}}'
    )
    row = enqueue(EmailMessage("Hello", "Body", to=["a@example.net"]))
    assert row.sender == "owner@example.org"


@pytest.mark.django_db
def test_a_message_without_recipients_is_refused():
    with pytest.raises(ValueError, match="at least one recipient"):
        enqueue(EmailMessage("Hello", "Body", to=[]))


@pytest.mark.django_db
def test_only_invitations_and_alerts_may_use_the_fallback_relay():
    for kind in ("form", "password_reset", "test", "report"):
        with pytest.raises(ValueError, match="Only invitations and alerts"):
            enqueue(EmailMessage("Hi", "Body", to=["a@example.net"]), kind=kind, channel="fallback")
    assert not OutboxMessage.objects.exists()
    enqueue(
        EmailMessage("Join us", "Body", to=["a@example.net"]), kind="invite", channel="fallback"
    )


@pytest.mark.django_db
def test_relay_mail_has_the_hosts_sender_when_the_site_has_none(monkeypatch):
    monkeypatch.setenv("POSTROOM_FALLBACK_FROM", "noreply@host.example")
    invite = enqueue(EmailMessage("Join", "Body", to=["a@example.net"]), "invite", "fallback")
    form = enqueue(EmailMessage("Entry", "Body", to=["a@example.net"]), kind="form")
    assert invite.sender == "noreply@host.example"
    assert form.sender == "postroom@localhost"
