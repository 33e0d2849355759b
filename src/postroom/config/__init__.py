"""The configuration: one immutable snapshot of every setting, with its origin and one list of
problems. Nothing else in Postroom reads a settings file or the process environment.

Sections: ``smtp`` (web.config, appsettings*.json, environment; see :mod:`postroom.mailsettings`),
``delivery``, ``alerts``, ``security``, ``health`` (the same files and ``Postroom__*``/
``Umbraco__*`` variables) and ``hosting`` (``POSTROOM_*`` variables only).
"""

from postroom.config.current import (
    current_backup_settings,
    current_smtp_settings,
    read_bool,
    read_int,
    read_setting,
)
from postroom.config.model import (
    ERROR,
    INBOX,
    RELAY,
    SERVE,
    WARNING,
    WEB,
    WORKER,
    Config,
    Issue,
)
from postroom.config.snapshot import (
    blocking_problems,
    current_config,
    ensure_can_start,
    load_config,
    refusal,
)

__all__ = [
    "ERROR",
    "INBOX",
    "RELAY",
    "SERVE",
    "WARNING",
    "WEB",
    "WORKER",
    "Config",
    "Issue",
    "blocking_problems",
    "current_backup_settings",
    "current_config",
    "current_smtp_settings",
    "ensure_can_start",
    "load_config",
    "read_bool",
    "read_int",
    "read_setting",
    "refusal",
]
