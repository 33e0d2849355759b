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
    RELAY = "relay", "Relayed (SMTP)"
    API = "api", "HTTP API"
    RELEASE = "release", "Released from the inbox"


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    HELD = "held", "Held"
    CANCELLED = "cancelled", "Cancelled"
    SUPPRESSED = "suppressed", "Suppressed"  # every recipient is on the suppression list


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
    notice = models.TextField(
        blank=True,
        help_text="A warning for the administrators, e.g. an invitation to a suppressed address.",
    )
    tracking_id = models.CharField(
        max_length=40, blank=True, db_index=True, help_text="Echoed back by providers' events."
    )
    provider_message_id = models.CharField(
        max_length=200, blank=True, db_index=True, help_text="The id in the 250 reply."
    )
    # A string reference: delivery sits below applications and never imports it.
    application = models.ForeignKey(
        "applications.Application",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        help_text="The application that handed it in (relay or API); empty for Postroom's own.",
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
        return self.status in (Status.SENT, Status.FAILED, Status.CANCELLED, Status.SUPPRESSED)


class Connection(models.TextChoices):
    """Which connection carried an attempt: the site's main or backup SMTP server, the
    hosting fallback relay, the development inbox, or the pickup directory."""

    MAIN = "main", "Main"
    BACKUP = "backup", "Backup"
    FALLBACK = "fallback", "Fallback relay"
    INBOX = "inbox", "Development inbox"
    PICKUP = "pickup", "Pickup directory"


class DeliveryAttempt(models.Model):
    """One try at handing a message to a transport, with what came back."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    transport = models.CharField(max_length=300)
    succeeded = models.BooleanField(default=False)
    step = models.CharField(max_length=20, blank=True, help_text="What failed, e.g. connect.")
    reply = models.TextField(blank=True)
    connection = models.CharField(max_length=10, choices=Connection.choices, blank=True)
    outcome = models.CharField(
        max_length=10,
        choices=Status.choices,
        blank=True,
        help_text="The message's status right after this attempt: sent, queued (to be"
        " retried) or failed. Metrics count attempts by it.",
    )

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


class EventKind(models.TextChoices):
    DELIVERED = "delivered", "Delivered"
    DEFERRED = "deferred", "Deferred"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained"
    OPENED = "opened", "Opened"
    CLICKED = "clicked", "Clicked"


class BounceType(models.TextChoices):
    HARD = "hard", "Hard"
    SOFT = "soft", "Soft"


class RecipientEvent(models.Model):
    """What a provider reported about one recipient after the 250; unmatched when no message."""

    message = models.ForeignKey(
        OutboxMessage, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    recipient = models.CharField(max_length=320, db_index=True)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    provider = models.CharField(max_length=20)
    provider_event_id = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    detail = models.TextField(blank=True, help_text="The diagnostic text, e.g. 550 5.1.1.")
    bounce_type = models.CharField(max_length=10, choices=BounceType.choices, blank=True)
    reference = models.CharField(
        max_length=300, blank=True, help_text="What the event named its message by (unmatched)."
    )

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["kind", "occurred_at"], name="event_kind_time"),
            models.Index(fields=["message", "recipient"], name="event_message_rcpt"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.kind} ({self.provider})"


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", "Hard bounce"
    COMPLAINT = "complaint", "Spam complaint"
    MANUAL = "manual", "Added by hand"
    SOFT_BOUNCES = "soft_bounces", "Soft bounces in a row"
    IMPORT = "import", "Imported"


class SuppressionFields(models.Model):
    """What a suppression and the record of its removal both say: the address, why, a note."""

    address = models.CharField(max_length=320)
    reason = models.CharField(max_length=20, choices=SuppressionReason.choices)
    note = models.TextField(blank=True)

    class Meta:
        abstract = True


class Suppression(SuppressionFields):
    """An address this site no longer sends to, and why.

    ``address`` keeps the local part as it came (some servers tell case apart there) with the
    domain lowercased; ``key`` is the whole address lowercased, so one mailbox is listed once.
    """

    key = models.CharField(max_length=320, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    message = models.ForeignKey(
        OutboxMessage,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The message whose bounce or complaint added the address.",
    )
    source = models.CharField(max_length=40, default="manual", help_text="e.g. sendgrid, cli.")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.address} ({self.get_reason_display()})"


class SoftBounce(models.Model):
    """Soft bounces in a row for one address; a delivery clears them (optional sync)."""

    key = models.CharField(max_length=320, unique=True)
    count = models.PositiveIntegerField(default=0)
    first_at = models.DateTimeField(default=timezone.now)
    last_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class SuppressionRemoval(SuppressionFields):
    """An address taken off the suppression list: who, when and why, for the record."""

    # The history is indexed by address (migration 0004), where the list itself is by ``key``.
    address = models.CharField(max_length=320, db_index=True)
    suppressed_at = models.DateTimeField()
    removed_at = models.DateTimeField(default=timezone.now)
    removed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-removed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.address} removed"


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
