"""A Django email backend that queues instead of sending: ``django.core.mail`` uses the outbox."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import Kind


class OutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        queued = 0
        for message in email_messages:
            if not message.recipients():
                continue
            try:
                enqueue(message, kind=Kind.SYSTEM)
            except Exception:
                if not self.fail_silently:
                    raise
            else:
                queued += 1
        return queued
