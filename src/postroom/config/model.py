"""The configuration snapshot: one immutable value, every setting with its origin, one list of
problems. Built only by :mod:`postroom.config.snapshot`."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from postroom.mailsettings.model import Problem, Setting, SmtpSettings

ERROR, WARNING = "error", "warning"

# The parts of Postroom a problem can stop from starting; ``serve`` runs them all.
WEB, WORKER, INBOX, RELAY, SERVE = "web", "worker", "inbox", "relay", "serve"
PARTS = (WEB, WORKER, INBOX, RELAY, SERVE)


@dataclass(frozen=True)
class Issue(Problem):
    """A configuration problem: where, what and how to fix it (``Problem``), and also which
    section it belongs to, whether it is an error or a warning, and which parts it stops."""

    section: str = ""
    level: str = ERROR
    blocks: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            **super().as_json(),
            "section": self.section,
            "level": self.level,
            "blocks": list(self.blocks),
        }


def _key(name: str) -> Any:
    """A field of a section, with the key people write (``Postroom:Delivery:...``)."""
    return field(default=Setting(), metadata={"key": name})


class Section:
    """The settings of one section: each field is a :class:`Setting` with its key."""

    def settings(self) -> list[tuple[str, str, Setting]]:
        """(attribute, key as written in the files or environment, setting) for each field."""
        return [(f.name, f.metadata["key"], getattr(self, f.name)) for f in fields(self)]  # type: ignore[arg-type]


@dataclass(frozen=True)
class Delivery(Section):
    give_up_after_hours: Setting = _key("Postroom:Delivery:GiveUpAfterHours")
    messages_per_second: Setting = _key("Postroom:Delivery:MessagesPerSecond")
    keep_sent_bodies_days: Setting = _key("Postroom:Delivery:KeepSentBodiesDays")
    keep_log_days: Setting = _key("Postroom:Delivery:KeepLogDays")
    # 0 is off: soft bounces never suppress an address.
    soft_bounce_limit: Setting = _key("Postroom:Suppression:SoftBounceLimit")
    soft_bounce_window_days: Setting = _key("Postroom:Suppression:SoftBounceWindowDays")
    retry_first_delay_seconds: Setting = _key("Postroom:Delivery:RetryFirstDelaySeconds")
    retry_backoff_factor: Setting = _key("Postroom:Delivery:RetryBackoffFactor")  # a float
    retry_max_delay_minutes: Setting = _key("Postroom:Delivery:RetryMaxDelayMinutes")

    # Throughput and provider limits (delivery.connections, delivery.limits).
    connections: Setting = _key("Postroom:Delivery:Connections")
    max_connections: Setting = _key("Postroom:Delivery:MaxConnections")


BACKUP = "Postroom:Smtp:Backup"


@dataclass(frozen=True)
class Backup(Section):
    """A second SMTP server that takes over when the main one fails (see delivery.backup)."""

    host: Setting = _key(f"{BACKUP}:Host")
    port: Setting = _key(f"{BACKUP}:Port")
    secure_socket_options: Setting = _key(f"{BACKUP}:SecureSocketOptions")
    username: Setting = _key(f"{BACKUP}:Username")
    password: Setting = _key(f"{BACKUP}:Password")  # value is a Secret
    from_address: Setting = _key(f"{BACKUP}:From")  # unset: the main From
    client_domain: Setting = _key(f"{BACKUP}:ClientDomain")
    delivery_format: Setting = _key(f"{BACKUP}:DeliveryFormat")
    ca_file: Setting = _key(f"{BACKUP}:CaFile")
    timeout_seconds: Setting = _key(f"{BACKUP}:TimeoutSeconds")  # a float
    after_temporary_failure_minutes: Setting = _key(f"{BACKUP}:AfterTemporaryFailureMinutes")

    @property
    def configured(self) -> bool:
        """A host is set and usable: its errors leave it unset."""
        return bool(self.host.value)


@dataclass(frozen=True)
class Alerts(Section):
    stuck_after_minutes: Setting = _key("Postroom:Alerts:StuckAfterMinutes")
    every_minutes: Setting = _key("Postroom:Alerts:EveryMinutes")
    webhook_url: Setting = _key("Postroom:Alerts:WebhookUrl")  # value is a Secret


@dataclass(frozen=True)
class Security(Section):
    site_name: Setting = _key("Postroom:SiteName")
    invite_expiry: Setting = _key("Postroom:Security:UserInviteExpiryHours")  # a timedelta
    allow_password_reset: Setting = _key("Umbraco:CMS:Security:AllowPasswordReset")
    max_failed_logins: Setting = _key(
        "Umbraco:CMS:Security:UserPassword:MaxFailedAccessAttemptsBeforeLockout"
    )
    lockout_minutes: Setting = _key("Postroom:Security:LockoutMinutes")
    resets_per_hour_per_address: Setting = _key("Postroom:Security:PasswordResetsPerHourPerAddress")
    resets_per_hour_per_account: Setting = _key("Postroom:Security:PasswordResetsPerHourPerAccount")


@dataclass(frozen=True)
class Health(Section):
    timeout_seconds: Setting = _key("Postroom:Health:TimeoutSeconds")
    dns_server: Setting = _key("Postroom:Health:DnsServer")  # (host, port) or unset
    report_period_hours: Setting = _key("Postroom:HealthReport:PeriodHours")
    report_recipient: Setting = _key("Postroom:HealthReport:Recipient")
    report_detail: Setting = _key("Postroom:HealthReport:Detail")
    report_failures_only: Setting = _key("Postroom:HealthReport:FailuresOnly")


@dataclass(frozen=True)
class Events(Section):
    """Provider webhooks: one secret per provider (a Secret, or unset) and the warning levels."""

    sendgrid_public_key: Setting = _key("Postroom:Events:SendGrid:PublicKey")
    mailgun_signing_key: Setting = _key("Postroom:Events:Mailgun:SigningKey")
    postmark_secret: Setting = _key("Postroom:Events:Postmark:Secret")
    ses_topic_arn: Setting = _key("Postroom:Events:Ses:TopicArn")
    brevo_secret: Setting = _key("Postroom:Events:Brevo:Secret")
    generic_secret: Setting = _key("Postroom:Events:Generic:Secret")
    tolerance_seconds: Setting = _key("Postroom:Events:ToleranceSeconds")
    keep_unmatched_days: Setting = _key("Postroom:Events:KeepUnmatchedDays")
    bounce_rate_warning: Setting = _key("Postroom:Events:BounceRateWarningPercent")
    complaint_rate_warning: Setting = _key("Postroom:Events:ComplaintRateWarningPercent")


@dataclass(frozen=True)
class Inbox(Section):
    """The development inbox keeps the newest messages only (see inbox.retention)."""

    keep_messages: Setting = _key("Postroom:Inbox:KeepMessages")
    keep_days: Setting = _key("Postroom:Inbox:KeepDays")  # 0: no age limit


@dataclass(frozen=True)
class Hosting(Section):
    """Set by whoever runs Postroom, in the environment only."""

    environment: Setting = _key("POSTROOM_ENVIRONMENT")
    site_dir: Setting = _key("POSTROOM_SITE")  # a Path
    data_dir: Setting = _key("POSTROOM_DATA")  # a Path
    database_url: Setting = _key("DATABASE_URL")  # a RedactedUrl
    host: Setting = _key("POSTROOM_HOST")
    port: Setting = _key("POSTROOM_PORT")
    inbox_host: Setting = _key("POSTROOM_INBOX_HOST")
    inbox_port: Setting = _key("POSTROOM_INBOX_PORT")
    relay_host: Setting = _key("POSTROOM_RELAY_HOST")
    relay_port: Setting = _key("POSTROOM_RELAY_PORT")  # an int, or unset: no relay in serve
    relay_tls_port: Setting = _key("POSTROOM_RELAY_TLS_PORT")  # an int, or unset
    relay_cert: Setting = _key("POSTROOM_RELAY_CERT")  # a Path, or unset
    relay_key: Setting = _key("POSTROOM_RELAY_KEY")  # a Path, or unset
    base_url: Setting = _key("POSTROOM_BASE_URL")  # "https://example.com/path" or unset
    trusted_proxy: Setting = _key("POSTROOM_TRUSTED_PROXY")
    lease_seconds: Setting = _key("POSTROOM_LEASE_SECONDS")  # a float
    fallback_smtp_url: Setting = _key("POSTROOM_FALLBACK_SMTP_URL")  # a FallbackRelay
    fallback_from: Setting = _key("POSTROOM_FALLBACK_FROM")
    metrics_token: Setting = _key("POSTROOM_METRICS_TOKEN")  # a Secret, or unset (loopback only)
    allowed_hosts: Setting = _key("POSTROOM_ALLOWED_HOSTS")  # a tuple of names
    csrf_trusted_origins: Setting = _key("POSTROOM_CSRF_TRUSTED_ORIGINS")  # a tuple
    secure_cookies: Setting = _key("POSTROOM_SECURE_COOKIES")
    debug: Setting = _key("POSTROOM_DEBUG")
    log_level: Setting = _key("POSTROOM_LOG_LEVEL")
    secret_key: Setting = _key("POSTROOM_SECRET_KEY")  # a Secret, or unset (generated)
    static_root: Setting = _key("POSTROOM_STATIC_ROOT")
    upload_storage: Setting = _key("POSTROOM_UPLOAD_STORAGE")  # a dotted class path
    upload_storage_options: Setting = _key("POSTROOM_UPLOAD_STORAGE_OPTIONS")  # a Secret (JSON)
    # The inbox API answers loopback callers without a token (Development only).
    inbox_api_open_on_loopback: Setting = _key("POSTROOM_INBOX_API_OPEN_ON_LOOPBACK")

    @property
    def is_development(self) -> bool:
        return self.environment.value == "Development"


SECTIONS = (
    "smtp",
    "backup",
    "delivery",
    "alerts",
    "security",
    "health",
    "events",
    "inbox",
    "hosting",
)


@dataclass(frozen=True)
class Config:
    """Everything Postroom is configured with, as read at one moment."""

    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    backup: Backup = field(default_factory=Backup)
    delivery: Delivery = field(default_factory=Delivery)
    alerts: Alerts = field(default_factory=Alerts)
    security: Security = field(default_factory=Security)
    health: Health = field(default_factory=Health)
    events: Events = field(default_factory=Events)
    inbox: Inbox = field(default_factory=Inbox)
    hosting: Hosting = field(default_factory=Hosting)
    problems: tuple[Issue, ...] = ()

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(p for p in self.problems if p.level == ERROR)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(p for p in self.problems if p.level == WARNING)

    def problems_of(self, section: str, key: str | None = None) -> tuple[Issue, ...]:
        """The problems of one section (and, given, of one key: case ignored)."""
        return tuple(
            p
            for p in self.problems
            if p.section == section and (key is None or (p.key or "").lower() == key.lower())
        )

    def sections(self) -> list[tuple[str, list[tuple[str, Setting]]]]:
        """Each section with its (key, setting) pairs, in the order of :data:`SECTIONS`."""
        listed: list[tuple[str, list[tuple[str, Setting]]]] = [("smtp", self.smtp.fields())]
        for name in SECTIONS[1:]:
            section: Section = getattr(self, name)
            listed.append((name, [(key, setting) for _, key, setting in section.settings()]))
        return listed

    def blocking_problems(self, part: str) -> tuple[Issue, ...]:
        """The errors that stop ``part`` (web, worker, inbox or serve) from starting."""
        if part not in PARTS:
            raise ValueError(f"Unknown part {part!r}; expected one of {', '.join(PARTS)}.")
        wanted = {WEB, WORKER, INBOX, RELAY, SERVE} if part == SERVE else {part}
        return tuple(p for p in self.errors if wanted & set(p.blocks))

    def as_json(self) -> dict[str, Any]:
        """The shape of ``postroom config show --json``: secrets are masked."""
        data: dict[str, Any] = {"configured": self.smtp.configured}
        for name, settings in self.sections():
            data[name] = {key: _shown(setting) for key, setting in settings}
        data["errors"] = [p.as_json() for p in self.errors]
        data["warnings"] = [p.as_json() for p in self.warnings]
        return data


def _shown(setting: Setting) -> dict[str, Any]:
    value = setting.shown()
    if isinstance(value, tuple):
        value = list(value)
    elif value is not None and not isinstance(value, (str, int, float, bool, list)):
        value = str(value)  # paths, time spans, redacted URLs
    return {"value": value, "origin": setting.origin}
