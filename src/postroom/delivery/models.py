"""The outbox: one row per message, which is both the delivery queue and the email log."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Kind(models.TextChoices):
    FORM = "form", "Form"
    INVITE = "invite", "Invitation"
    PASSWORD_RESET = "password_reset", "Password reset"
    TEST = "test", "Test"
    REPORT = "report", "Report"
    SYSTEM = "system", "System"


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    HELD = "held", "Held"
    CANCELLED = "cancelled", "Cancelled"


class Channel(models.TextChoices):
    SITE = "site", "The site's SMTP settings"
    FALLBACK = "fallback", "The hosting fallback relay"


class OutboxMessage(models.Model):
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SYSTEM)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    sender = models.CharField(max_length=998)
    to = models.TextField(blank=True, help_text="Comma-separated addresses.")
    cc = models.TextField(blank=True)
    bcc = models.TextField(blank=True)
    subject = models.CharField(max_length=998, blank=True)
    message_id = models.CharField(max_length=255, db_index=True)
    raw = models.BinaryField(help_text="The RFC 5322 message, exactly as it is sent.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    attempt_count = models.PositiveIntegerField(default=0)
    last_reply = models.TextField(blank=True, help_text="The server's last reply or error.")
    recipient_status = models.JSONField(
        default=dict, blank=True, help_text="Per recipient: accepted, or the refusal reply."
    )
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.SITE)
    claimed_by = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A sending message whose lease ran out is claimed again."
    )
    lost_leases = models.PositiveSmallIntegerField(
        default=0, help_text="How often a worker stopped while holding this message."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["status", "lease_expires_at"], name="outbox_leases"),
        ]

    def __str__(self) -> str:
        return f"{self.subject or '(no subject)'} to {self.to}"

    @property
    def envelope_recipients(self) -> tuple[str, ...]:
        addresses = ",".join(part for part in (self.to, self.cc, self.bcc) if part)
        return tuple(a.strip() for a in addresses.split(",") if a.strip())

    @property
    def is_finished(self) -> bool:
        return self.status in (Status.SENT, Status.FAILED, Status.CANCELLED)


class DeliveryAttempt(models.Model):
    """One try at handing a message to a transport, with what came back."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    transport = models.CharField(max_length=300)
    succeeded = models.BooleanField(default=False)
    step = models.CharField(max_length=20, blank=True, help_text="What failed, e.g. connect.")
    reply = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.transport}: {self.reply}"


class WorkerHeartbeat(models.Model):
    """A running worker says it is alive; health checks read this."""

    worker_id = models.CharField(max_length=200, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivered = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return self.worker_id


class SendingBudget(models.Model):
    """A token bucket shared by every worker: ``Postroom:Delivery:MessagesPerSecond``."""

    name = models.CharField(max_length=50, primary_key=True)
    next_free = models.FloatField(
        default=0.0, help_text="When the next send is allowed, in seconds since the epoch."
    )

    def __str__(self) -> str:
        return f"{self.name}: next send at {self.next_free:.3f}"


class ConnectionSlot(models.Model):
    """One of ``Postroom:Delivery:MaxConnections`` SMTP connections, held under a lease."""

    number = models.PositiveIntegerField(primary_key=True)
    held_by = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"slot {self.number}: {self.held_by or 'free'}"
