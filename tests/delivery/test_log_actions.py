"""Administrators resend, cancel and retry messages, one at a time or hundreds at once."""

from __future__ import annotations

import email
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.utils import timezone

from postroom.delivery import actions
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import OutboxMessage

pytestmark = pytest.mark.django_db


def queue(subject="Hello", kind="system", **fields) -> OutboxMessage:
    message = EmailMultiAlternatives(
        subject, "Body text", "Site <site@example.org>", ["a@example.net"], cc=["c@example.net"]
    )
    message.attach_alternative("<p>Body <b>html</b></p>", "text/html")
    row = enqueue(message, kind=kind)
    if fields:
        OutboxMessage.objects.filter(pk=row.pk).update(**fields)
    row.refresh_from_db()
    return row


def many(count: int, **fields) -> list[int]:
    """``count`` messages queued with enqueue, then given ``fields`` in one UPDATE."""
    template = EmailMessage("Bulk", "Body", "site@example.org", ["many@example.net"])
    ids = [enqueue(template, kind=fields.get("kind", "form")).pk for _ in range(count)]
    OutboxMessage.objects.filter(pk__in=ids).update(**fields)
    return ids


def flashes(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def status_of(row: OutboxMessage) -> str:
    row.refresh_from_db()
    return row.status


# Resend -----------------------------------------------------------------------------------


def test_resend_queues_a_copy_that_differs_only_in_its_message_id(admin_client):
    original = queue("Receipt", kind="form", status="sent", attempt_count=2, last_reply="250 Ok")

    response = admin_client.post(f"/outbox/{original.pk}/resend/")

    copy = OutboxMessage.objects.exclude(pk=original.pk).get()
    assert response.status_code == 302
    assert response["Location"] == f"/outbox/{copy.pk}/"
    assert flashes(response) == [
        f"Queued a new copy of message #{original.pk}, with a new Message-ID."
    ]
    assert (copy.status, copy.attempt_count, copy.last_reply) == ("queued", 0, "")
    assert (copy.kind, copy.sender, copy.to, copy.cc, copy.subject) == (
        "form",
        "site@example.org",
        "a@example.net",
        "c@example.net",
        "Receipt",
    )
    assert copy.message_id != original.message_id
    assert copy.message_id.endswith("@example.org>")
    old_line = f"Message-ID: {original.message_id}".encode()
    new_line = f"Message-ID: {copy.message_id}".encode()
    assert bytes(copy.raw) == bytes(original.raw).replace(old_line, new_line)
    assert email.message_from_bytes(bytes(copy.raw))["Message-ID"] == copy.message_id
    assert status_of(original) == "sent"


def test_resend_wakes_the_workers_after_commit(admin_client, django_capture_on_commit_callbacks):
    original = queue(status="failed")
    with django_capture_on_commit_callbacks() as callbacks:
        admin_client.post(f"/outbox/{original.pk}/resend/")
    assert callbacks


def test_a_purged_message_cannot_be_resent(admin_client):
    original = queue(status="sent", raw=b"")
    response = admin_client.post(f"/outbox/{original.pk}/resend/")
    assert response["Location"] == f"/outbox/{original.pk}/"
    assert "cannot be resent" in flashes(response)[0]
    assert OutboxMessage.objects.count() == 1


def test_replace_message_id_handles_folding_missing_headers_and_bare_newlines():
    folded = (
        b"Subject: Hi\r\nMessage-Id:\r\n <old@example.org>\r\nTo: a@example.net\r\n\r\n"
        b"Message-ID: <in-the-body@example.org>\r\n"
    )
    assert actions.replace_message_id(folded, "<new@example.org>") == (
        b"Subject: Hi\r\nMessage-ID: <new@example.org>\r\nTo: a@example.net\r\n\r\n"
        b"Message-ID: <in-the-body@example.org>\r\n"
    )
    missing = b"Subject: Hi\nTo: a@example.net\n\nBody\n"
    assert actions.replace_message_id(missing, "<new@x>") == b"Message-ID: <new@x>\n" + missing
    twice = b"Message-ID: <a@x>\r\nMessage-ID: <b@x>\r\n\r\nBody"
    assert actions.replace_message_id(twice, "<n@x>") == b"Message-ID: <n@x>\r\n\r\nBody"


# Cancel -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["queued", "held"])
def test_cancel_stops_a_message_that_has_not_gone_out(admin_client, status):
    row = queue(status=status)
    response = admin_client.post(f"/outbox/{row.pk}/cancel/")
    assert response["Location"] == f"/outbox/{row.pk}/"
    assert flashes(response) == ["Cancelled: this message will not be sent."]
    assert status_of(row) == "cancelled"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("sending", "A worker is sending it right now"),
        ("sent", "It was already delivered to the server"),
        ("failed", "Delivery already gave up"),
        ("cancelled", "It was already cancelled"),
    ],
)
def test_cancel_explains_why_a_message_cannot_be_cancelled(admin_client, status, reason):
    row = queue(status=status)
    response = admin_client.post(f"/outbox/{row.pk}/cancel/")
    assert flashes(response)[0].startswith(f"Not cancelled. {reason}")
    assert status_of(row) == status


# Retry now --------------------------------------------------------------------------------


def test_retry_now_requeues_a_failed_message_due_now(admin_client):
    row = queue(status="failed", failed_at=timezone.now(), next_attempt_at=timezone.now())
    before = timezone.now()
    response = admin_client.post(f"/outbox/{row.pk}/retry/")
    row.refresh_from_db()
    assert flashes(response) == ["Queued to be sent now."]
    assert row.status == "queued"
    assert before <= row.next_attempt_at <= timezone.now()
    assert row.failed_at is None


def test_retry_now_brings_a_waiting_retry_forward(admin_client):
    row = queue(next_attempt_at=timezone.now() + timedelta(minutes=30))
    admin_client.post(f"/outbox/{row.pk}/retry/")
    row.refresh_from_db()
    assert row.status == "queued"
    assert row.next_attempt_at <= timezone.now()


@pytest.mark.parametrize("status", ["sent", "sending", "cancelled", "held"])
def test_retry_now_leaves_other_messages_alone(admin_client, status):
    row = queue(status=status)
    response = admin_client.post(f"/outbox/{row.pk}/retry/")
    assert flashes(response)[0].startswith("Not retried:")
    assert status_of(row) == status


# Who may act ------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["resend", "cancel", "retry"])
def test_editors_may_not_act_on_a_message(client, editor, action):
    row = queue(status="queued", next_attempt_at=timezone.now() + timedelta(hours=1))
    client.force_login(editor)
    response = client.post(f"/outbox/{row.pk}/{action}/")
    assert response.status_code == 403
    assert OutboxMessage.objects.count() == 1
    after = OutboxMessage.objects.get()
    assert (after.status, after.next_attempt_at) == ("queued", row.next_attempt_at)


def test_editors_may_not_use_bulk_actions(client, editor):
    ids = many(3, status="failed")
    client.force_login(editor)
    response = client.post("/outbox/bulk/", {"action": "retry", "ids": ids})
    assert response.status_code == 403
    assert OutboxMessage.objects.filter(status="failed").count() == 3


@pytest.mark.parametrize("url", ["/outbox/{pk}/cancel/", "/outbox/bulk/"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, administrator, url):
    row = queue()
    response = client.post(url.format(pk=row.pk), {"action": "cancel", "ids": [row.pk]})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert status_of(row) == "queued"


def test_actions_need_post(admin_client):
    row = queue()
    assert admin_client.get(f"/outbox/{row.pk}/cancel/").status_code == 405
    assert status_of(row) == "queued"


def test_actions_need_the_csrf_token(administrator):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(administrator)
    row = queue()
    assert client.post(f"/outbox/{row.pk}/cancel/").status_code == 403
    assert status_of(row) == "queued"


# Bulk -------------------------------------------------------------------------------------


def test_bulk_cancel_of_ticked_rows(admin_client):
    first, second, third = queue("One"), queue("Two"), queue("Three", status="sent")
    response = admin_client.post(
        "/outbox/bulk/",
        {"action": "cancel", "ids": [first.pk, third.pk], "current": "status=queued&page=2"},
    )
    assert response["Location"] == "/outbox/?status=queued&page=2"
    assert flashes(response) == [
        "Cancelled 1 message. 1 other left as they were: only queued or held mail can be cancelled."
    ]
    assert [status_of(r) for r in (first, second, third)] == ["cancelled", "queued", "sent"]


def test_bulk_retry_of_ticked_rows_says_why_the_others_stayed(admin_client):
    failed, sent = queue("One", status="failed"), queue("Two", status="sent")
    response = admin_client.post(
        "/outbox/bulk/", {"action": "retry", "ids": [failed.pk, sent.pk], "current": ""}
    )
    assert flashes(response) == [
        "Retried 1 message. 1 other left as they were: only failed mail, or queued mail"
        " waiting for a later try, can be retried."
    ]
    assert [status_of(r) for r in (failed, sent)] == ["queued", "sent"]


def test_bulk_retry_of_all_matching_a_filter_in_a_few_queries(
    admin_client, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    matching = many(300, status="failed", kind="form")
    other_kind = many(20, status="failed", kind="invite")
    sent = many(10, status="sent", kind="form")
    max_id = max(matching + other_kind + sent)
    later = many(5, status="failed", kind="form")  # queued after the list was shown

    with django_assert_max_num_queries(12), django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            "/outbox/bulk/",
            {
                "action": "retry",
                "scope": "all",
                "current": "kind=form&status=failed",
                "max_id": str(max_id),
            },
        )

    assert flashes(response) == ["Retried 300 messages."]
    assert response["Location"] == "/outbox/?kind=form&status=failed"
    assert callbacks
    assert OutboxMessage.objects.filter(pk__in=matching, status="queued").count() == 300
    assert OutboxMessage.objects.filter(pk__in=other_kind, status="failed").count() == 20
    assert OutboxMessage.objects.filter(pk__in=sent, status="sent").count() == 10
    assert OutboxMessage.objects.filter(pk__in=later, status="failed").count() == 5


def test_bulk_cancel_of_all_matching_a_status_filter(admin_client, django_assert_max_num_queries):
    queued = many(300, status="queued")
    sent = many(10, status="sent")
    with django_assert_max_num_queries(12):
        response = admin_client.post(
            "/outbox/bulk/",
            {
                "action": "cancel",
                "scope": "all",
                "current": "status=queued",
                "max_id": str(max(queued + sent)),
            },
        )
    assert flashes(response) == ["Cancelled 300 messages."]
    assert OutboxMessage.objects.filter(status="cancelled").count() == 300
    assert OutboxMessage.objects.filter(pk__in=sent, status="sent").count() == 10


def test_bulk_resend_of_all_matching_a_filter(admin_client, django_assert_max_num_queries):
    failed = many(300, status="failed")
    sent = many(10, status="sent")
    with django_assert_max_num_queries(16):
        response = admin_client.post(
            "/outbox/bulk/",
            {
                "action": "resend",
                "scope": "all",
                "current": "status=failed",
                "max_id": str(max(failed + sent)),
            },
        )
    assert flashes(response) == ["Resent 300 messages as new copies."]
    copies = OutboxMessage.objects.exclude(pk__in=failed + sent)
    assert copies.count() == 300
    assert set(copies.values_list("status", flat=True)) == {"queued"}
    assert copies.values("message_id").distinct().count() == 300
    assert OutboxMessage.objects.filter(pk__in=failed, status="failed").count() == 300


def test_bulk_all_matching_refuses_a_filter_with_errors(admin_client):
    ids = many(3, status="queued")
    response = admin_client.post(
        "/outbox/bulk/",
        {"action": "cancel", "scope": "all", "current": "status=bogus", "max_id": str(max(ids))},
    )
    assert "The filter has an error" in flashes(response)[0]
    assert OutboxMessage.objects.filter(status="queued").count() == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "cancel"}, "Tick at least one message"),
        ({"action": "explode", "ids": ["1"]}, "Choose Cancel, Retry now or Resend."),
    ],
)
def test_bulk_with_nothing_sensible_to_do_says_so(admin_client, data, message):
    row = queue()
    response = admin_client.post("/outbox/bulk/", data)
    assert response.status_code == 302
    assert message in flashes(response)[0]
    assert status_of(row) == "queued"


@pytest.mark.parametrize(
    "data",
    [
        {"action": "cancel", "ids": ["abc"]},
        {"action": "cancel", "ids": ["1", "9223372036854775808"]},
        {"action": "cancel", "scope": "all", "max_id": "x"},
    ],
)
def test_bulk_with_a_value_that_cannot_be_a_message_id_is_a_bad_request(admin_client, data):
    row = queue()
    response = admin_client.post("/outbox/bulk/", data)
    assert response.status_code == 400
    assert "is not a message number" in response.content.decode()
    assert status_of(row) == "queued"
