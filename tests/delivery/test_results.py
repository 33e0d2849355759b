"""What one attempt means for its message, without a database or a server."""

from datetime import timedelta

from django.utils import timezone

from postroom.delivery.models import OutboxMessage, Status
from postroom.delivery.policy import DeliveryPolicy
from postroom.delivery.results import after_failure, after_result, pending_recipients
from postroom.delivery.transports.base import DeliveryError, SendResult

NOW = timezone.now()
POLICY = DeliveryPolicy()
GONE = "550 5.1.1 No such user"
FULL = "452 4.2.2 Mailbox full"


def message(age=timedelta(minutes=1), kind="form", states=None, to="ann@example.net"):
    return OutboxMessage(
        kind=kind,
        to=to,
        created_at=NOW - age,
        recipient_status=states or {},
        provider_message_id="earlier",
    )


def test_a_message_anyone_accepted_is_sent_and_keeps_every_recipients_state():
    fields = after_result(
        message(states={"old@example.net": "accepted"}),
        SendResult("250 2.0.0 Ok: queued as 4F2", ("ann@example.net",), {"bob@example.net": GONE}),
        NOW,
        POLICY,
    )
    assert (fields["status"], fields["sent_at"], fields["failed_at"]) == (Status.SENT, NOW, None)
    assert fields["recipient_status"] == {
        "old@example.net": "accepted",
        "ann@example.net": "accepted",
        "bob@example.net": GONE,
    }
    assert fields["provider_message_id"] == "4F2"  # read from the reply


def test_recipients_refused_for_now_keep_the_message_queued_until_it_gives_up():
    result = SendResult("250 Ok", ("ann@example.net",), {"bob@example.net": FULL})
    assert after_result(message(), result, NOW, POLICY)["status"] == Status.QUEUED
    old = message(age=POLICY.give_up_after + timedelta(minutes=1))
    assert after_result(old, result, NOW, POLICY)["status"] == Status.SENT


def test_a_message_everyone_refused_for_good_has_failed():
    fields = after_result(
        message(), SendResult("250 Ok", (), {"ann@example.net": GONE}), NOW, POLICY
    )
    assert (fields["status"], fields["failed_at"], fields["sent_at"]) == (Status.FAILED, NOW, None)
    assert fields["provider_message_id"] == "earlier"  # nothing new in the reply


def test_a_transient_failure_waits_and_a_permanent_one_fails():
    waiting = after_failure(
        message(), DeliveryError("421 busy", step="mail", transient=True), NOW, POLICY
    )
    assert (waiting["status"], waiting["failed_at"]) == (Status.QUEUED, None)
    assert waiting["next_attempt_at"] > NOW
    refused = DeliveryError("554 spam", step="data", transient=False)
    failed = after_failure(message(), refused, NOW, POLICY)
    assert (failed["status"], failed["failed_at"], failed["last_reply"]) == (
        Status.FAILED,
        NOW,
        "554 spam",
    )


def test_a_transient_failure_past_the_give_up_time_says_how_long_it_tried():
    old = message(age=timedelta(hours=73))
    fields = after_failure(old, DeliveryError("421 busy", step="mail", transient=True), NOW, POLICY)
    assert fields["status"] == Status.FAILED
    assert fields["last_reply"] == "Gave up after 3 days: 421 busy"
    short = DeliveryPolicy(give_up_after=timedelta(hours=5))
    fields = after_failure(
        message(age=timedelta(hours=6)),
        DeliveryError("421", step="mail", transient=True),
        NOW,
        short,
    )
    assert fields["last_reply"] == "Gave up after 5 hours: 421"


def test_only_recipients_not_yet_accepted_nor_refused_for_good_are_sent_again():
    row = message(
        to="ann@example.net, bob@example.net, cy@example.net, dee@example.net",
        states={"ann@example.net": "accepted", "bob@example.net": GONE, "cy@example.net": FULL},
    )
    assert pending_recipients(row) == ("cy@example.net", "dee@example.net")
