"""Where people see provider events: the message's timeline, the log's filters, the dashboard's
rates, the unmatched events screen and the endpoint URLs on Settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from postroom.delivery.models import DeliveryAttempt, RecipientEvent
from postroom.delivery.recipient_events import ProviderEvent, record

pytestmark = pytest.mark.django_db


def report(message, recipient, kind, **extra) -> RecipientEvent:
    return record(
        ProviderEvent(
            "sendgrid",
            kind,
            recipient,
            extra.pop("at", timezone.now()),
            tracking_id=message.tracking_id if message else "",
            **extra,
        )
    )


def test_the_message_page_shows_each_recipients_attempts_and_events_in_order(
    admin_client, sent_message
):
    message = sent_message()
    DeliveryAttempt.objects.create(
        message=message,
        started_at=timezone.now() - timedelta(minutes=5),
        transport="smtp.example.com:587",
        succeeded=True,
        reply="250 Ok: queued as 4F2ABC",
    )
    report(
        message,
        "ann@example.com",
        "deferred",
        detail="421 try later",
        at=timezone.now() - timedelta(minutes=3),
    )
    report(message, "ann@example.com", "delivered")
    report(
        message, "bob@example.com", "bounced", bounce_type="hard", detail="550 5.1.1 No such user"
    )

    html = admin_client.get(f"/outbox/{message.pk}/").content.decode()

    timeline = html[html.index('id="timeline"') :]
    ann = timeline[timeline.index("ann@example.com") : timeline.index("bob@example.com")]
    assert ann.index("Accepted by the server") < ann.index("Deferred") < ann.index("Delivered")
    assert "421 try later" in ann
    bob = timeline[timeline.index("bob@example.com") :]
    assert "Bounced (hard)" in bob
    assert "550 5.1.1 No such user" in bob
    assert "Delivered" not in bob[: bob.index("</table>")]


@pytest.mark.parametrize("kind", ["delivered", "bounced", "complained"])
def test_the_log_filters_by_what_providers_reported(admin_client, sent_message, kind):
    reported = sent_message(to=["reported@example.com"])
    quiet = sent_message(to=["quiet@example.com"])
    report(reported, "reported@example.com", kind, bounce_type="soft")
    report(reported, "reported@example.com", kind, bounce_type="soft")  # listed once

    html = admin_client.get(f"/outbox/?event={kind}").content.decode()

    assert html.count(f"/outbox/{reported.pk}/") >= 1
    assert f"/outbox/{quiet.pk}/" not in html


def test_an_unknown_event_filter_is_left_out_with_a_word(admin_client, sent_message):
    message = sent_message()

    html = admin_client.get("/outbox/?event=exploded").content.decode()

    assert f"/outbox/{message.pk}/" in html
    assert "Unknown event" in html


def test_the_dashboard_shows_rates_over_24_hours_and_7_days(admin_client, sent_message):
    old = sent_message(to=["old@example.com"])
    old.sent_at = timezone.now() - timedelta(days=3)
    old.save()
    report(old, "old@example.com", "bounced", bounce_type="hard")
    new = sent_message(to=["a@example.com", "b@example.com", "c@example.com", "d@example.com"])
    for address in ("a@example.com", "b@example.com", "c@example.com"):
        report(new, address, "delivered")
    report(new, "d@example.com", "complained")

    html = admin_client.get("/").content.decode()

    table = html[html.index('id="event-rates"') :]
    day, week = table.split("Last 24 hours")[1].split("Last 7 days")
    assert "75.0%" in day and "0.0%" in day and "25.00%" in day
    assert "60.0%" in week and "20.0%" in week and "20.00%" in week


def test_unmatched_events_are_counted_and_listed(admin_client):
    report(
        None, "ghost@example.com", "bounced", bounce_type="soft", message_id="<gone@example.com>"
    )

    dashboard = admin_client.get("/").content.decode()
    screen = admin_client.get("/events/unmatched/").content.decode()

    assert "1 event matched no message" in dashboard
    assert "ghost@example.com" in screen
    assert "&lt;gone@example.com&gt;" in screen


def test_old_unmatched_events_are_purged_by_the_chore(sent_message):
    from postroom.events import housekeeping

    kept = report(sent_message(), "ann@example.com", "delivered")
    stale = report(None, "ghost@example.com", "delivered")
    fresh = report(None, "new@example.com", "delivered")
    RecipientEvent.objects.filter(pk__in=[stale.pk, kept.pk]).update(
        received_at=datetime.now(UTC) - timedelta(days=31)
    )

    housekeeping.purge()

    assert set(RecipientEvent.objects.values_list("pk", flat=True)) == {kept.pk, fresh.pk}


def test_settings_lists_each_endpoint_url_and_never_a_secret(admin_client, monkeypatch):
    from events.conftest import GENERIC_SECRET

    monkeypatch.setenv("POSTROOM_BASE_URL", "https://mail.example.com")
    monkeypatch.setenv("Postroom__Events__Generic__Secret", GENERIC_SECRET)

    html = admin_client.get("/settings/").content.decode()

    for slug in ("sendgrid", "mailgun", "postmark", "ses", "brevo", "generic"):
        assert f"https://mail.example.com/events/{slug}/" in html
    assert "Postroom:Events:SendGrid:PublicKey" in html
    assert GENERIC_SECRET not in html
