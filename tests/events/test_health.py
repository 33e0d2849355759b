"""Health checks: bounce and complaint rates over 7 days against settable limits, and a word
when a webhook is configured but no event ever arrives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from postroom.delivery.recipient_events import ProviderEvent, record
from postroom.health.registry import get_check
from postroom.health.runner import run_check

pytestmark = pytest.mark.django_db


def results(check_id: str):
    run = run_check(get_check(check_id))
    return run.status, [r.message for r in run.results]


def hundred_recipients(sent_message):
    return sent_message(to=[f"r{n}@example.com" for n in range(100)])


def report(message, recipient: str, kind: str, bounce: str = "") -> None:
    record(
        ProviderEvent(
            "generic",
            kind,
            recipient,
            timezone.now(),
            tracking_id=message.tracking_id,
            bounce_type=bounce,
        )
    )


def test_a_bounce_rate_over_5_percent_warns(sent_message):
    message = hundred_recipients(sent_message)
    for n in range(5):
        report(message, f"r{n}@example.com", "bounced", "hard")
    assert results("delivery-reputation")[0] == "success"  # 5% is not over 5%

    report(message, "r5@example.com", "bounced", "hard")

    status, messages = results("delivery-reputation")
    assert status == "warning"
    assert "6.0% of recipients hard-bounced" in messages[0]
    assert "Postroom:Events:BounceRateWarningPercent" in messages[0]


def test_soft_bounces_are_not_counted_as_bounces(sent_message):
    message = hundred_recipients(sent_message)
    for n in range(10):
        report(message, f"r{n}@example.com", "bounced", "soft")
        report(message, f"r{n}@example.com", "delivered")  # the retry got through
    report(message, "r50@example.com", "bounced", "hard")

    status, messages = results("delivery-reputation")
    assert status == "success"
    assert "1.0% hard-bounced" in messages[0]


def test_a_complaint_rate_over_the_setting_warns(sent_message, monkeypatch):
    message = hundred_recipients(sent_message)
    report(message, "r1@example.com", "complained")
    assert results("delivery-reputation")[0] == "warning"  # 1% > 0.1%

    monkeypatch.setenv("Postroom__Events__ComplaintRateWarningPercent", "2")

    assert results("delivery-reputation")[0] == "success"


def test_mail_older_than_7_days_does_not_count(sent_message):
    message = sent_message(to=["a@example.com"])
    report(message, "a@example.com", "complained")
    message.sent_at = timezone.now() - timedelta(days=8)
    message.save()

    assert results("delivery-reputation")[0] == "info"


def test_a_configured_webhook_without_events_warns(sent_message, monkeypatch):
    from events.conftest import GENERIC_SECRET

    assert results("delivery-events-arrive")[0] == "info"
    monkeypatch.setenv("Postroom__Events__Generic__Secret", GENERIC_SECRET)
    message = sent_message()

    status, messages = results("delivery-events-arrive")
    assert status == "warning"
    assert "No provider event has ever arrived" in messages[0]
    assert "Generic" in messages[0]

    report(message, "ann@example.com", "delivered")
    assert results("delivery-events-arrive")[0] == "success"


def test_each_configured_provider_must_have_sent_events(sent_message, monkeypatch):
    from events.conftest import GENERIC_SECRET, MAILGUN_KEY

    monkeypatch.setenv("Postroom__Events__Generic__Secret", GENERIC_SECRET)
    monkeypatch.setenv("Postroom__Events__Mailgun__SigningKey", MAILGUN_KEY)
    message = sent_message()
    report(message, "ann@example.com", "delivered")  # from the generic endpoint only

    status, messages = results("delivery-events-arrive")
    assert status == "warning"
    assert "No provider event has ever arrived from Mailgun" in messages[0]
    assert "Generic" not in messages[0]


def test_a_provider_silent_for_a_week_warns_though_another_is_busy(sent_message, monkeypatch):
    from events.conftest import GENERIC_SECRET, MAILGUN_KEY
    from postroom.delivery.models import RecipientEvent

    monkeypatch.setenv("Postroom__Events__Generic__Secret", GENERIC_SECRET)
    monkeypatch.setenv("Postroom__Events__Mailgun__SigningKey", MAILGUN_KEY)
    message = sent_message()
    report(message, "ann@example.com", "delivered")
    record(ProviderEvent("mailgun", "delivered", "bob@example.com", timezone.now()))
    RecipientEvent.objects.filter(provider="mailgun").update(
        received_at=timezone.now() - timedelta(days=8)
    )

    status, messages = results("delivery-events-arrive")
    assert status == "warning"
    assert "No event arrived from Mailgun in the last 7 days" in messages[0]
