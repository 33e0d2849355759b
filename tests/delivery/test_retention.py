"""Bodies of sent mail go after N days; the log rows stay longer."""

from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.utils import timezone

from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import OutboxMessage
from postroom.delivery.policy import DeliveryPolicy
from postroom.delivery.retention import purge

pytestmark = pytest.mark.django_db


def message(status, age_days):
    row = enqueue(EmailMessage("Hi", "Body", to=["a@example.net"]))
    when = timezone.now() - timedelta(days=age_days)
    OutboxMessage.objects.filter(pk=row.pk).update(status=status, sent_at=when, created_at=when)
    return row


def test_old_sent_bodies_are_emptied_and_very_old_rows_deleted():
    recent, old, ancient = message("sent", 1), message("sent", 40), message("sent", 400)
    queued_old = message("queued", 40)
    result = purge(DeliveryPolicy())
    assert (result.bodies, result.messages) == (1, 1)
    assert bytes(OutboxMessage.objects.get(pk=recent.pk).raw)
    assert bytes(OutboxMessage.objects.get(pk=old.pk).raw) == b""
    assert not OutboxMessage.objects.filter(pk=ancient.pk).exists()
    assert bytes(OutboxMessage.objects.get(pk=queued_old.pk).raw)  # never lose unsent mail


def test_the_purge_command_takes_the_days(capsys):
    message("sent", 3)
    call_command("outbox", "purge", "--body-days", "2")
    assert "Emptied the bodies of 1 message(s) sent more than 2 days ago" in capsys.readouterr().out
