"""The SMTP settings: read from web.config, appsettings*.json and the environment, merged
field by field, validated, and handed out as an immutable :class:`SmtpSettings`."""

from postroom.mailsettings.loader import load_smtp_settings
from postroom.mailsettings.model import Problem, Secret, Setting, SmtpSettings

__all__ = [
    "Problem",
    "Secret",
    "Setting",
    "SmtpSettings",
    "load_smtp_settings",
]
