"""Provider events: bounce and complaint rates over 7 days, and whether events arrive at all."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from postroom.config import current_config
from postroom.delivery.echo import configured_provider_names
from postroom.delivery.recipient_events import last_event_by_provider, rates
from postroom.health.registry import DELIVERY, Result, check

WEEK = timedelta(days=7)
DOCS = "README.md#provider-events"


@check(
    "delivery-reputation",
    "Few bounces and complaints",
    DELIVERY,
    "Out of the recipients the provider accepted in the last 7 days, how many bounced for"
    " good (hard bounces; a soft bounce is temporary and not counted) or marked the mail as"
    " spam. Mailbox providers such as Gmail and Yahoo treat a sender with"
    " many as a spammer.",
    docs=DOCS,
)
def reputation() -> list[Result]:
    events = current_config().events
    week = rates(WEEK, "7 days")
    if not week.sent:
        return [Result.info("No mail was accepted by the provider in the last 7 days.")]
    bounce_limit = float(events.bounce_rate_warning.value)
    complaint_limit = float(events.complaint_rate_warning.value)
    bounce, complaint = week.bounce_rate or 0.0, week.complaint_rate or 0.0
    results = []
    link = reverse("delivery:log") + "?" + urlencode({"event": "bounced", "period": "7d"})
    if bounce > bounce_limit:
        results.append(
            Result.warning(
                f"{bounce:.1f}% of recipients hard-bounced in the last 7 days ({week.bounced} of"
                f" {week.sent}); the limit is {bounce_limit:g}%"
                " (Postroom:Events:BounceRateWarningPercent).",
                "Remove dead addresses (hard bounces are suppressed already); check that forms"
                " validate addresses and that lists are opted in.",
                link=link,
                link_text="Bounced messages",
            )
        )
    if complaint > complaint_limit:
        results.append(
            Result.warning(
                f"{complaint:.2f}% of recipients marked the mail as spam in the last 7 days"
                f" ({week.complained} of {week.sent}); the limit is {complaint_limit:g}%"
                " (Postroom:Events:ComplaintRateWarningPercent).",
                "Send only mail people asked for, make unsubscribing easy, and keep complainers"
                " off the list (they are suppressed already).",
                link=link.replace("bounced", "complained"),
                link_text="Complained messages",
            )
        )
    return results or [
        Result.success(
            f"In the last 7 days {bounce:.1f}% hard-bounced and {complaint:.2f}% complained, out of"
            f" {week.sent} recipients."
        )
    ]


@check(
    "delivery-events-arrive",
    "Provider events arrive",
    DELIVERY,
    "With a webhook secret configured, each such provider should report deliveries and"
    " bounces; if none arrive from one, its webhook is probably not set up at the provider.",
    docs=DOCS,
)
def events_arrive() -> list[Result]:
    providers = configured_provider_names()
    if not providers:
        return [
            Result.info(
                "No provider webhook is configured, so Postroom knows only what the server said"
                " at 250.",
                "Set a provider's secret under Postroom:Events and paste its URL (see Settings)"
                " into the provider's console.",
            )
        ]
    latest = last_event_by_provider(list(providers))
    now = timezone.now()
    sent = rates(WEEK, "7 days").sent
    names = ", ".join(providers.values())
    settings_link = {"link": reverse("backoffice:settings"), "link_text": "Endpoint URLs"}
    never = [name for slug, name in providers.items() if slug not in latest]
    stale = [
        name for slug, name in providers.items() if slug in latest and now - latest[slug] > WEEK
    ]
    if len(never) == len(providers) and not sent:
        return [Result.info(f"Webhooks are configured ({names}); no mail sent yet.")]
    results = []
    if never and sent:
        results.append(
            Result.warning(
                f"No provider event has ever arrived from {', '.join(never)}, although the"
                f" webhook is configured and {sent} recipients were sent mail in the last 7"
                " days.",
                _fix(never),
                **settings_link,
            )
        )
    if stale and sent:
        results.append(
            Result.warning(
                f"No event arrived from {', '.join(stale)} in the last 7 days, although {sent}"
                " recipients were sent mail.",
                _fix(stale),
                **settings_link,
            )
        )
    return results or [
        Result.success(
            "The latest provider events arrived: "
            + "; ".join(
                f"{name} {latest[slug]:%Y-%m-%d %H:%M} UTC"
                for slug, name in providers.items()
                if slug in latest
            )
            + "."
            if latest
            else f"Webhooks are configured ({names}); no mail was sent in the last 7 days."
        )
    ]


def _fix(names: list[str]) -> str:
    return (
        f"Paste the endpoint URL shown on the Settings page into the {', '.join(names)} console,"
        " with the same secret as in the configuration; events the provider could not deliver"
        " are listed in its webhook log. A provider you no longer use: remove its secret."
    )
