"""The SMTP settings: read from web.config, appsettings*.json and the environment, merged
field by field, validated, and handed out as an immutable :class:`SmtpSettings`."""

from postroom.mailsettings.loader import (
    current_smtp_settings,
    load_smtp_settings,
    read_bool,
    read_int,
    read_setting,
)
from postroom.mailsettings.model import Problem, Secret, Setting, SmtpSettings

__all__ = [
    "Problem",
    "Secret",
    "Setting",
    "SmtpSettings",
    "current_smtp_settings",
    "load_smtp_settings",
    "read_bool",
    "read_int",
    "read_setting",
]
