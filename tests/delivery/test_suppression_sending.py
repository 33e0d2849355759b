"""Sending to suppressed addresses: the recipient is skipped with its reason, the others still
get the message, a message with only suppressed recipients ends as suppressed, and sign-in
mail goes out anyway with a warning for the administrators."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMessage

from postroom.delivery import worker
from postroom.delivery.alerts import current_problems
from postroom.delivery.enqueue import enqueue
from postroom.delivery.log import log_query
from postroom.delivery.models import Kind, OutboxMessage, Status
from postroom.delivery.policy import DeliveryPolicy
from postroom.delivery.suppression import suppress, unsuppress
from sites import queue_mail, use_smtp_server

pytestmark = pytest.mark.django_db


def test_a_suppressed_recipient_is_skipped_and_the_others_receive_it(isolated_site, smtp_server):
    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    suppress("Gone@Example.net", "hard_bounce", source="sendgrid")
    (row,) = queue_mail(to=("someone@example.net", "gone@example.net"))

    worker.run_once()

    row.refresh_from_db()
    assert row.status == Status.SENT
    assert row.recipient_status["someone@example.net"] == "accepted"
    assert row.recipient_status["gone@example.net"].startswith("suppressed: hard bounce on ")
    assert server.messages[0].rcpt_tos == ("someone@example.net",)


def test_a_message_whose_recipients_are_all_suppressed_ends_as_suppressed(
    isolated_site, smtp_server
):
    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    suppress("gone@example.net", "complaint")
    suppress("left@example.net", "manual")
    (row,) = queue_mail(to=("gone@example.net", "LEFT@example.net"))

    worker.run_once()

    row.refresh_from_db()
    assert row.status == Status.SUPPRESSED
    assert row.is_finished
    assert row.failed_at is None
    assert row.last_reply == "Not sent: All 2 recipients are on the suppression list."
    assert row.recipient_status["gone@example.net"].startswith("suppressed: spam complaint")
    assert row.attempts.get().step == "suppressed"
    assert server.messages == []
    assert worker.run_once() == 0  # finished: never claimed again


def test_an_address_taken_off_the_list_gets_the_retry(isolated_site, smtp_server):
    server = smtp_server(refuse={"busy@example.net": "450 4.2.1 Mailbox busy"})
    use_smtp_server(isolated_site, server.port)
    suppress("gone@example.net", "manual")
    (row,) = queue_mail(to=("busy@example.net", "gone@example.net"))
    worker.run_once()
    row.refresh_from_db()
    assert row.status == Status.QUEUED

    unsuppress("gone@example.net", "A typo, fixed.")
    server.handler.refuse = {}
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=row.created_at)
    worker.run_once()

    row.refresh_from_db()
    assert row.status == Status.SENT
    assert row.recipient_status == {"busy@example.net": "accepted", "gone@example.net": "accepted"}


@pytest.mark.parametrize("kind", [Kind.INVITE, Kind.PASSWORD_RESET])
def test_sign_in_mail_is_sent_anyway_and_the_administrators_are_warned(
    isolated_site, smtp_server, kind
):
    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    suppress("ann@example.net", "hard_bounce")

    row = enqueue(EmailMessage("Welcome", "Body", to=["Ann@example.net"]), kind=kind)
    worker.run_once()

    row.refresh_from_db()
    assert row.status == Status.SENT
    assert server.messages[0].rcpt_tos == ("Ann@example.net",)
    assert "suppression list" in row.notice and "Ann@example.net" in row.notice
    problems = current_problems(DeliveryPolicy())
    assert problems.any and problems.suppressed_sign_ins == 1
    assert "1 invitation or password reset went to suppressed addresses" in problems.summary()


def test_other_mail_carries_no_notice():
    suppress("ann@example.net", "hard_bounce")
    (row,) = queue_mail(to=("ann@example.net",))
    assert row.notice == ""
    assert not current_problems(DeliveryPolicy()).any


def test_the_log_filter_shows_messages_with_any_suppressed_recipient():
    whole, partial, other = queue_mail(3)
    OutboxMessage.objects.filter(pk=whole.pk).update(status=Status.SUPPRESSED)
    OutboxMessage.objects.filter(pk=partial.pk).update(
        status=Status.SENT,
        recipient_status={"a@example.net": "accepted", "b@example.net": "suppressed: manual"},
    )
    OutboxMessage.objects.filter(pk=other.pk).update(
        status=Status.SENT, recipient_status={"a@example.net": "accepted"}
    )

    selected = log_query({"status": "suppressed"}).messages

    assert set(selected.values_list("pk", flat=True)) == {whole.pk, partial.pk}
    assert not log_query({"status": "suppressed"}).has_errors


def test_the_message_page_says_why_nothing_was_sent(admin_client):
    (row,) = queue_mail()
    OutboxMessage.objects.filter(pk=row.pk).update(
        status=Status.SUPPRESSED, last_reply="Not sent: The recipient is on the suppression list."
    )

    page = admin_client.get(f"/outbox/{row.pk}/").content.decode()

    assert "Not sent: suppressed." in page and 'href="/suppressions/"' in page
    assert "badge-suppressed" in admin_client.get("/outbox/?status=suppressed").content.decode()


def test_the_dashboard_warns_of_sign_in_mail_to_suppressed_addresses(admin_client):
    assert 'id="suppressed-sign-ins"' not in admin_client.get("/").content.decode()
    suppress("ann@example.net", "complaint")
    enqueue(EmailMessage("Reset", "Body", to=["ann@example.net"]), kind=Kind.PASSWORD_RESET)

    page = admin_client.get("/").content.decode()

    assert 'id="suppressed-sign-ins"' in page
    assert "1 invitation or password reset went to suppressed addresses" in page


@pytest.mark.django_db(transaction=True)  # outcomes are written as the worker writes them
def test_a_batch_is_screened_with_one_lookup_before_its_first_message(isolated_site, smtp_server):
    """On PostgreSQL an outcome is still in flight while the next message is screened: a
    query then would fail ("another command is already in progress")."""
    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    suppress("gone@example.net", "hard_bounce")
    rows = [
        *queue_mail(2, to=("someone@example.net", "gone@example.net")),
        *queue_mail(1, to=("gone@example.net",)),
        *queue_mail(2, to=("someone@example.net",)),
    ]
    worker.run_once()

    statuses = [OutboxMessage.objects.get(pk=row.pk).status for row in rows]
    assert statuses == ["sent", "sent", "suppressed", "sent", "sent"]
    assert [m.rcpt_tos for m in server.messages] == [("someone@example.net",)] * 4


def test_a_suppressed_message_is_sent_on_retry_once_its_address_is_off_the_list(
    isolated_site, smtp_server, admin_client
):
    server = smtp_server()
    use_smtp_server(isolated_site, server.port)
    suppress("gone@example.net", "manual")
    (row,) = queue_mail(to=("gone@example.net",))
    worker.run_once()
    row.refresh_from_db()
    assert row.status == Status.SUPPRESSED
    page = admin_client.get(f"/outbox/{row.pk}/").content.decode()
    assert "Retry now" in page

    unsuppress("gone@example.net", "Mailbox fixed")
    admin_client.post(f"/outbox/{row.pk}/retry/")
    worker.run_once()

    row.refresh_from_db()
    assert row.status == Status.SENT
    assert row.recipient_status == {"gone@example.net": "accepted"}
    assert server.messages[0].rcpt_tos == ("gone@example.net",)


def test_a_message_some_got_ends_as_sent_when_the_rest_became_suppressed(
    isolated_site, smtp_server
):
    server = smtp_server(refuse={"busy@example.net": "450 4.2.1 Mailbox busy"})
    use_smtp_server(isolated_site, server.port)
    (row,) = queue_mail(to=("someone@example.net", "busy@example.net"))
    worker.run_once()
    row.refresh_from_db()
    assert row.status == Status.QUEUED

    suppress("busy@example.net", "hard_bounce")  # say, the provider's bounce came meanwhile
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=row.created_at)
    worker.run_once()

    row.refresh_from_db()
    assert row.status == Status.SENT and row.sent_at is not None
    assert row.last_reply == "Not sent again: the other recipient is on the suppression list."
    assert row.recipient_status["someone@example.net"] == "accepted"
    assert row.recipient_status["busy@example.net"].startswith("suppressed: hard bounce")
    assert len(server.messages) == 1


def test_a_partly_sent_message_keeps_its_sent_time_when_the_rest_are_suppressed(db):
    from datetime import timedelta

    from django.utils import timezone

    from postroom.delivery.suppression import Envelope, outcome_when_all_skipped

    earlier = timezone.now() - timedelta(hours=3)
    message = OutboxMessage(
        sent_at=earlier,
        recipient_status={
            "someone@example.net": "accepted",
            "busy@example.net": "suppressed: hard bounce on 2026-12-01",
        },
    )
    envelope = Envelope((), {"busy@example.net": "suppressed: hard bounce on 2026-12-01"})

    outcome = outcome_when_all_skipped(message, envelope)

    assert outcome["status"] == Status.SENT
    assert outcome["sent_at"] == earlier
    message.sent_at = None
    assert outcome_when_all_skipped(message, envelope)["sent_at"] is not None
