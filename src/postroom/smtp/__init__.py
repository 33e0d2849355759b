"""The one SMTP session: every contact with smtplib, and the words for whatever goes wrong.

Layer: just above the settings (postroom.mailsettings); it imports nothing else of Postroom.
The delivery transport and the health probe both talk to mail servers through
:class:`Session`, so what the health check reports is what the worker will do.
"""

from __future__ import annotations

from .server import INTERNATIONAL, SEVEN_BIT, Server
from .session import FAILED, NOTE, OK, WARN, Mail, Sent, Session, Step
from .wording import SmtpFailure, secret_scrubber

__all__ = [
    "FAILED",
    "INTERNATIONAL",
    "NOTE",
    "OK",
    "SEVEN_BIT",
    "WARN",
    "Mail",
    "Sent",
    "Server",
    "Session",
    "SmtpFailure",
    "Step",
    "secret_scrubber",
]
