"""Messages caught by the development mail catcher."""

from __future__ import annotations

from email.utils import getaddresses

from django.db import models
from django.utils import timezone

from postroom.emailview import parsing


class CaughtMessageQuerySet(models.QuerySet["CaughtMessage"]):
    def search(self, query: str) -> CaughtMessageQuerySet:
        query = query.strip()
        if not query:
            return self
        return self.filter(
            models.Q(envelope_recipients__icontains=query)
            | models.Q(to_header__icontains=query)
            | models.Q(envelope_sender__icontains=query)
            | models.Q(from_header__icontains=query)
            | models.Q(subject__icontains=query)
        )

    def summaries(self) -> CaughtMessageQuerySet:
        """Without the raw bytes, which can be megabytes per message."""
        return self.defer("raw")


class CaughtMessage(models.Model):
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    envelope_sender = models.CharField(max_length=998, blank=True)
    envelope_recipients = models.TextField(blank=True, help_text="Comma-separated RCPT TO.")
    from_header = models.TextField("From", blank=True)
    to_header = models.TextField("To", blank=True)
    subject = models.TextField(blank=True)
    message_id = models.CharField("Message-ID", max_length=998, blank=True)
    size = models.PositiveIntegerField(default=0)
    has_attachments = models.BooleanField(default=False)
    raw = models.BinaryField()  # the bytes as received, stored as-is

    objects = CaughtMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "caught message"

    def __str__(self) -> str:
        return self.subject or "(no subject)"

    @classmethod
    def from_envelope(cls, sender: str, recipients: list[str], raw: bytes) -> CaughtMessage:
        """An unsaved message with its summary fields filled in from ``raw``."""
        summary = parsing.summarize(raw)
        return cls(
            envelope_sender=(sender or "")[:998],
            envelope_recipients=", ".join(recipients),
            from_header=summary.from_header,
            to_header=summary.to_header,
            subject=summary.subject,
            message_id=summary.message_id,
            size=len(raw),
            has_attachments=summary.has_attachments,
            raw=bytes(raw),
        )

    @property
    def recipients_list(self) -> list[str]:
        return [r.strip() for r in self.envelope_recipients.split(",") if r.strip()]

    @property
    def display_from(self) -> str:
        return self.from_header or self.envelope_sender or "(no sender)"

    @property
    def display_to(self) -> str:
        return self.to_header or self.envelope_recipients or "(no recipients)"

    @property
    def short_from(self) -> str:
        """The sender's name, or address, as a mail client's list shows it."""
        return _short(self.display_from, prefer_name=True)

    @property
    def short_to(self) -> str:
        """The first recipient's address, and how many more there are."""
        return _short(self.display_to, prefer_name=False)


def _short(value: str, *, prefer_name: bool) -> str:
    try:
        pairs = getaddresses([value])
    except Exception:
        return value
    entries = [(name if prefer_name and name else address) or name for name, address in pairs]
    entries = [entry for entry in entries if entry]
    if not entries:
        return value
    return entries[0] if len(entries) == 1 else f"{entries[0]} +{len(entries) - 1}"
