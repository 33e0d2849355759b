"""What one attempt means for its message, without a database or a server."""

from datetime import timedelta

from django.utils import timezone

from postroom.delivery.models import OutboxMessage, Status
from postroom.delivery.policy import DeliveryPolicy
from postroom.delivery.results import (
    after_failure,
    after_result,
    as_waiting,
    pending_recipients,
)
from postroom.delivery.retry import RetrySchedule
from postroom.delivery.transports.base import DeliveryError, SendResult

NOW = timezone.now()
POLICY = DeliveryPolicy()
GONE = "550 5.1.1 No such user"
FULL = "452 4.2.2 Mailbox full"


def message(age=timedelta(minutes=1), kind="form", states=None, to="ann@example.net", tries=1):
    return OutboxMessage(
        kind=kind,
        attempt_count=tries,
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
    fields = after_result(message(), result, NOW, POLICY)
    assert (fields["status"], fields["sent_at"], fields["failed_at"]) == (Status.QUEUED, None, None)
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


def test_everyone_refused_for_now_past_the_give_up_time_has_failed():
    old = message(age=POLICY.give_up_after + timedelta(minutes=1))
    fields = after_result(old, SendResult("250 Ok", (), {"ann@example.net": FULL}), NOW, POLICY)
    assert (fields["status"], fields["failed_at"]) == (Status.FAILED, NOW)


def test_the_next_try_follows_the_policys_schedule_and_the_count_of_tries():
    hourly = DeliveryPolicy(retry=RetrySchedule(first_delay=timedelta(hours=1), factor=3))
    busy = DeliveryError("421 busy", step="mail", transient=True)
    for tries, hours in ((1, 1), (2, 1)):  # the longest delay caps the factor
        fields = after_failure(message(tries=tries), busy, NOW, hourly)
        assert abs(fields["next_attempt_at"] - NOW - timedelta(hours=hours)) < timedelta(
            minutes=15
        ), tries
    slow = DeliveryPolicy(
        retry=RetrySchedule(
            first_delay=timedelta(minutes=10), factor=3, longest_delay=timedelta(hours=9)
        )
    )
    result = SendResult("250 Ok", (), {"ann@example.net": FULL})
    for tries, minutes in ((1, 10), (2, 30), (3, 90)):
        fields = after_result(message(tries=tries), result, NOW, slow)
        delay = fields["next_attempt_at"] - NOW
        assert timedelta(minutes=minutes * 0.7) < delay < timedelta(minutes=minutes * 1.3), tries


def test_a_failure_that_will_be_retried_keeps_the_servers_words():
    fields = after_failure(
        message(), DeliveryError("421 busy", step="mail", transient=True), NOW, POLICY
    )
    assert fields["last_reply"] == "421 busy"


def test_a_test_message_has_one_try_and_says_no_more():
    fields = after_failure(
        message(kind="test"), DeliveryError("421 busy", step="mail", transient=True), NOW, POLICY
    )
    assert (fields["status"], fields["last_reply"]) == (Status.FAILED, "421 busy")


def test_a_refused_opening_waits_whatever_its_reply():
    wrong_password = DeliveryError(
        "535 5.7.8 Authentication failed",
        step="auth",
        transient=False,
        reply="535",
        connection="backup",
    )
    waiting = as_waiting(wrong_password)
    assert waiting.transient
    assert (waiting.message, waiting.step, waiting.reply, waiting.connection) == (
        wrong_password.message,
        "auth",
        "535",
        "backup",
    )
