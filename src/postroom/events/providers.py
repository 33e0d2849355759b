"""The providers Postroom takes events from: how each is verified, read and configured."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from postroom.config import current_config
from postroom.delivery.recipient_events import ProviderEvent
from postroom.events import normalise
from postroom.events.verify import generic, mailgun, sendgrid, shared, sns
from postroom.events.verify.common import Verified


@dataclass(frozen=True)
class Provider:
    slug: str
    name: str
    setting: str  # the attribute of config.events that switches it on
    key: str  # the key people write
    verify: Callable[[bytes, Mapping[str, str], str, int], Verified]
    read: Callable[[Any], Iterable[ProviderEvent]]
    how: str  # where the URL goes at the provider

    def secret(self) -> str:
        """The configured secret (or SES topic), "" when the endpoint is off."""
        value = getattr(current_config().events, self.setting).value
        if not value:
            return ""
        return value.reveal() if hasattr(value, "reveal") else str(value)


PROVIDERS = {
    p.slug: p
    for p in (
        Provider(
            "sendgrid",
            "SendGrid",
            "sendgrid_public_key",
            "Postroom:Events:SendGrid:PublicKey",
            sendgrid.verify,
            normalise.sendgrid,
            "Settings, Mail Settings, Event Webhook: HTTP Post URL, with Signed Event Webhook"
            " Requests on.",
        ),
        Provider(
            "mailgun",
            "Mailgun",
            "mailgun_signing_key",
            "Postroom:Events:Mailgun:SigningKey",
            mailgun.verify,
            normalise.mailgun,
            "Sending, Webhooks: add this URL for delivered, permanent and temporary failure and"
            " spam complaints.",
        ),
        Provider(
            "postmark",
            "Postmark",
            "postmark_secret",
            "Postroom:Events:Postmark:Secret",
            shared.verify,
            normalise.postmark,
            "Server, Webhooks, Add webhook: this URL with basic auth (any user name, the"
            " secret as password).",
        ),
        Provider(
            "ses",
            "Amazon SES (through SNS)",
            "ses_topic_arn",
            "Postroom:Events:Ses:TopicArn",
            sns.verify,
            normalise.ses,
            "SNS, the topic of your SES configuration set: an HTTPS subscription to this URL"
            " (Postroom confirms it).",
        ),
        Provider(
            "brevo",
            "Brevo",
            "brevo_secret",
            "Postroom:Events:Brevo:Secret",
            shared.verify,
            normalise.brevo,
            "Transactional, Settings, Webhooks: this URL with the secret as bearer token or"
            " basic auth password.",
        ),
        Provider(
            "generic",
            "Generic (HMAC-SHA256)",
            "generic_secret",
            "Postroom:Events:Generic:Secret",
            generic.verify,
            normalise.generic,
            "Sign <timestamp>.<body> with HMAC-SHA256; send X-Postroom-Timestamp and"
            " X-Postroom-Signature: v1=<hex>.",
        ),
    )
}
