"""Keys Postroom does not know, in sections where it knows every key: most likely typos, which
would otherwise leave the default in place without a word."""

from __future__ import annotations

import difflib

from postroom.config.model import WARNING, Issue
from postroom.mailsettings.layers import Layers

KNOWN_KEYS = {
    "Postroom:Delivery": (
        "GiveUpAfterHours",
        "MessagesPerSecond",
        "KeepSentBodiesDays",
        "KeepLogDays",
        "RetryFirstDelaySeconds",
        "RetryBackoffFactor",
        "RetryMaxDelayMinutes",
    ),
    "Postroom:Smtp:Backup": (
        "Host",
        "Port",
        "SecureSocketOptions",
        "Username",
        "Password",
        "From",
        "ClientDomain",
        "DeliveryFormat",
        "CaFile",
        "TimeoutSeconds",
        "AfterTemporaryFailureMinutes",
    ),
    "Postroom:Suppression": ("SoftBounceLimit", "SoftBounceWindowDays"),
    "Postroom:Alerts": ("StuckAfterMinutes", "EveryMinutes", "WebhookUrl"),
    "Postroom:Events": (
        "SendGrid",
        "Mailgun",
        "Postmark",
        "Ses",
        "Brevo",
        "Generic",
        "ToleranceSeconds",
        "KeepUnmatchedDays",
        "BounceRateWarningPercent",
        "ComplaintRateWarningPercent",
    ),
    "Postroom:Health": ("TimeoutSeconds", "DnsServer"),
    "Postroom:Inbox": ("KeepMessages", "KeepDays"),
    "Postroom:HealthReport": ("PeriodHours", "Recipient", "Detail", "FailuresOnly"),
}


def unknown_keys(layers: Layers, issues: list[Issue]) -> None:
    """A warning for each key of :data:`KNOWN_KEYS`' sections that is not one of them."""
    for section, known in KNOWN_KEYS.items():
        lowered = {name.lower(): name for name in known}
        for key, entry in layers.children(section):
            last = key.rsplit(":", 1)[-1]
            if last in lowered:
                continue
            close = [k for k in lowered if k.startswith(last) or last.startswith(k)]
            close = close or difflib.get_close_matches(last, list(lowered), n=1)
            hint = (
                f"Did you mean {section}:{lowered[close[0]]}?"
                if close
                else (f"The keys of {section} are " + ", ".join(known) + ".")
            )
            issues.append(
                Issue(
                    entry.source,
                    f"{entry.name} is not a setting Postroom knows; it is ignored.",
                    line=entry.line,
                    key=f"{section}:{entry.name.replace('__', ':').rsplit(':', 1)[-1]}",
                    hint=hint,
                    section=_section_name(section),
                    level=WARNING,
                )
            )


def _section_name(section: str) -> str:
    """The snapshot's section a key of ``section`` belongs to (``Postroom:Smtp:Backup``: backup)."""
    if section.lower() == "postroom:smtp:backup":
        return "backup"
    return (
        section.split(":")[1]
        .lower()
        .replace("healthreport", "health")
        .replace("suppression", "delivery")
    )
