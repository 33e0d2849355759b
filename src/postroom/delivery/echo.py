"""The identifiers providers echo back in their events, added to a message when it is queued.

Each provider reports events with the values of one header of ours: SendGrid's ``X-SMTPAPI``
unique arguments, Mailgun's ``X-Mailgun-Variables``, Postmark's ``X-PM-Metadata-*``, SES's
message tags, Brevo's ``X-Mailin-custom`` and, for anything else, ``X-Postroom-Id``. Only the
headers of providers whose webhook is configured are added: the others would be noise in every
recipient's copy. The headers go into the stored bytes, which are what is sent (no signature
covers them: Postroom stores messages unsigned and the provider signs what it relays).
"""

from __future__ import annotations

import json
import secrets

from postroom.config import current_config

ECHO_KEY = "postroom_id"


def new_tracking_id() -> str:
    return secrets.token_hex(12)


PROVIDER_SETTINGS = (
    ("sendgrid", "SendGrid", "sendgrid_public_key"),
    ("mailgun", "Mailgun", "mailgun_signing_key"),
    ("postmark", "Postmark", "postmark_secret"),
    ("ses", "Amazon SES", "ses_topic_arn"),
    ("brevo", "Brevo", "brevo_secret"),
    ("generic", "Generic", "generic_secret"),
)


def configured_providers() -> list[str]:
    """The names of the providers whose events endpoint is on."""
    return list(configured_provider_names().values())


def configured_provider_names() -> dict[str, str]:
    """Slug (as events record it) → name, for the providers whose events endpoint is on."""
    events = current_config().events
    return {
        slug: name
        for slug, name, attribute in PROVIDER_SETTINGS
        if getattr(events, attribute).value
    }


def echo_headers(tracking_id: str) -> dict[str, str]:
    """The headers to add for each provider whose events endpoint is on."""
    events = current_config().events
    headers: dict[str, str] = {}
    if events.sendgrid_public_key.value:
        headers["X-SMTPAPI"] = json.dumps({"unique_args": {ECHO_KEY: tracking_id}})
    if events.mailgun_signing_key.value:
        headers["X-Mailgun-Variables"] = json.dumps({ECHO_KEY: tracking_id})
    if events.postmark_secret.value:
        headers["X-PM-Metadata-postroom-id"] = tracking_id
    if events.ses_topic_arn.value:
        headers["X-SES-MESSAGE-TAGS"] = f"{ECHO_KEY}={tracking_id}"
    if events.brevo_secret.value:
        headers["X-Mailin-custom"] = f"{ECHO_KEY}:{tracking_id}"
    if headers or events.generic_secret.value:
        headers["X-Postroom-Id"] = tracking_id
    return headers


def retag(raw: bytes, old: str, new: str) -> bytes:
    """``raw`` with the tracking id ``old`` swapped for ``new`` in its header block only."""
    if not old:
        return raw
    head, separator, body = raw.partition(b"\r\n\r\n")
    return head.replace(old.encode("ascii"), new.encode("ascii")) + separator + body
