"""Forms as plain models: a Form has Fields (in order) and Workflows; submissions are Entries.

Each Entry keeps its values as ``{alias: value}`` (a string, or a list of strings for a
multiple choice), so that renaming or removing a field never rewrites what was received.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

DEFAULT_MIN_FILL_SECONDS = 3
DEFAULT_RATE_LIMIT = 10
DEFAULT_RATE_WINDOW_MINUTES = 10
DEFAULT_MAX_REQUEST_MB = 20
DEFAULT_MAX_FILE_MB = 5


class Form(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=80,
        unique=True,
        help_text="The public address is /f/ followed by this. Letters, digits and -.",
    )
    is_open = models.BooleanField(
        "Accepting entries", default=True, help_text="A closed form shows a notice instead."
    )
    submit_label = models.CharField("Button text", max_length=60, default="Send")
    success_message = models.TextField(
        default="Thank you. Your message was sent.",
        help_text="Shown after a successful submission, unless a redirect URL is set.",
    )
    redirect_url = models.URLField(
        "Redirect to",
        max_length=500,
        blank=True,
        help_text="After a successful submission go to this address (e.g. your site's "
        "thank-you page) instead of showing the message.",
    )
    allowed_origins = models.TextField(
        blank=True,
        help_text="Sites whose scripts may post to this form with fetch and read the JSON "
        "answer, one per line, e.g. https://www.example.com",
    )
    min_fill_seconds = models.PositiveIntegerField(
        "Minimum seconds to fill in",
        default=DEFAULT_MIN_FILL_SECONDS,
        help_text="Faster submissions are taken for robots. 0 turns this off.",
    )
    rate_limit = models.PositiveIntegerField(
        "Entries per visitor",
        default=DEFAULT_RATE_LIMIT,
        help_text="At most this many entries from one IP address per period. 0 turns this off.",
    )
    rate_window_minutes = models.PositiveIntegerField("Period (minutes)", default=10)
    max_request_mb = models.PositiveIntegerField(
        "Largest submission (MB)",
        default=DEFAULT_MAX_REQUEST_MB,
        help_text="Everything sent at once, uploads included.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("forms:build", args=[self.pk])

    def public_path(self) -> str:
        return reverse("forms:public", args=[self.slug])

    @property
    def origins(self) -> list[str]:
        return [
            line.strip().rstrip("/") for line in self.allowed_origins.splitlines() if line.strip()
        ]


class Field(models.Model):
    class Kind(models.TextChoices):
        SHORT_TEXT = "short_text", "Short text"
        LONG_TEXT = "long_text", "Long text"
        EMAIL = "email", "Email"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        SINGLE_CHOICE = "single_choice", "Single choice"
        MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"
        CHECKBOX = "checkbox", "Checkbox"
        FILE = "file", "File upload"
        HIDDEN = "hidden", "Hidden"

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="fields")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    label = models.CharField(max_length=200)
    alias = models.CharField(
        max_length=50,
        help_text="Used in email placeholders as {alias}. Lower-case letters, digits and _; "
        "leave empty to derive it from the label.",
    )
    required = models.BooleanField(default=False)
    help_text = models.CharField(max_length=500, blank=True)
    choices = models.TextField(blank=True, help_text="One choice per line.")
    pattern = models.CharField(
        max_length=300,
        blank=True,
        help_text="A regular expression the whole answer must match, e.g. [A-Z]{2}[0-9]{4} "
        "(RE2 syntax: no backreferences or lookarounds).",
    )
    min_value = models.CharField("Minimum", max_length=30, blank=True)
    max_value = models.CharField("Maximum", max_length=30, blank=True)
    allowed_types = models.CharField(
        "Allowed file types",
        max_length=300,
        blank=True,
        help_text="File name extensions separated by commas, e.g. pdf, jpg, png. "
        "Empty: common documents and images.",
    )
    max_file_mb = models.PositiveIntegerField("Largest file (MB)", default=DEFAULT_MAX_FILE_MB)
    default_value = models.CharField(
        "Value",
        max_length=500,
        blank=True,
        help_text="Sent with every entry; a ?alias=value in the page address replaces it.",
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["form", "alias"], name="forms_field_alias_unique")
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.alias})"

    @property
    def choice_list(self) -> list[str]:
        seen: list[str] = []
        for line in self.choices.splitlines():
            line = line.strip()
            if line and line not in seen:
                seen.append(line)
        return seen


class Workflow(models.Model):
    class Kind(models.TextChoices):
        SEND_EMAIL = "send_email", "Send email"
        CONFIRMATION = "confirmation", "Send confirmation to submitter"

    class Operator(models.TextChoices):
        EQUALS = "equals", "equals"
        CONTAINS = "contains", "contains"

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="workflows")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SEND_EMAIL)
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    to = models.TextField(
        "To", blank=True, help_text="Addresses separated by ; or , e.g. sales@example.com"
    )
    cc = models.TextField("Cc", blank=True)
    bcc = models.TextField("Bcc", blank=True)
    to_field = models.CharField(
        "Send to the address in",
        max_length=50,
        blank=True,
        help_text="The email field whose address gets the confirmation.",
    )
    sender = models.CharField(
        "From",
        max_length=300,
        blank=True,
        help_text="Empty: the From address of the SMTP settings.",
    )
    reply_to = models.CharField(
        "Reply-To",
        max_length=300,
        blank=True,
        help_text="An address, or a field such as {email}. "
        "Left out unless it is one valid address.",
    )
    subject = models.CharField(max_length=300)
    message = models.TextField(
        help_text="Plain text with {alias} placeholders; {all_fields} is a table of every answer."
    )
    send_html = models.BooleanField(
        "Add an HTML part", default=True, help_text="The same message, laid out as HTML."
    )
    attach_uploads = models.BooleanField(
        "Attach the uploaded files",
        default=True,
        help_text="Up to 10 MB in all; larger uploads are linked instead of attached.",
    )
    condition_field = models.CharField(
        "Only when", max_length=50, blank=True, help_text="Empty: for every entry."
    )
    condition_operator = models.CharField(
        max_length=10, choices=Operator.choices, default=Operator.EQUALS
    )
    condition_value = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Entry(models.Model):
    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="entries")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    values = models.JSONField(default=dict)
    search_text = models.TextField(blank=True, help_text="Every value, lower-cased, for search.")
    ip = models.CharField("IP address", max_length=45, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    referrer = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "entries"

    def __str__(self) -> str:
        return f"Entry #{self.pk} of {self.form_id}"

    def get_absolute_url(self) -> str:
        return reverse("forms:entry", args=[self.form_id, self.pk])


class Upload(models.Model):
    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="uploads")
    alias = models.CharField(max_length=50)
    original_name = models.CharField(max_length=255)
    stored_name = models.CharField(max_length=64, unique=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name


class WorkflowRun(models.Model):
    """What a workflow did for one entry; the email itself is an outbox message."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SKIPPED = "skipped", "Skipped"
        ERROR = "error", "Not sent"

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="runs")
    workflow = models.ForeignKey(Workflow, null=True, blank=True, on_delete=models.SET_NULL)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices)
    note = models.TextField(blank=True)
    message = models.ForeignKey(
        "delivery.OutboxMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="form_runs",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name}: {self.status}"


class Rejection(models.Model):
    """How many submissions a form turned away, per reason."""

    class Reason(models.TextChoices):
        HONEYPOT = "honeypot", "Honeypot field filled in"
        TOO_FAST = "too_fast", "Sent faster than a person can"
        NO_TOKEN = "no_token", "Missing or expired page token"
        RATE_LIMITED = "rate_limited", "Too many entries from one address"
        TOO_LARGE = "too_large", "Too large"
        ORIGIN = "origin", "Script from a site not allowed"
        REUSED = "reused", "Page token used for an entry before"

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="rejections")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    count = models.PositiveBigIntegerField(default=0)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["reason"]
        constraints = [
            models.UniqueConstraint(fields=["form", "reason"], name="forms_rejection_unique")
        ]

    def __str__(self) -> str:
        return f"{self.reason}: {self.count}"


class UsedToken(models.Model):
    """A page token that has carried its one entry; kept until the token expires anyway."""

    key = models.CharField(max_length=64, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"used until {self.expires_at}"
