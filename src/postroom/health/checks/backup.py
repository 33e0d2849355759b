"""The backup SMTP server (``Postroom:Smtp:Backup``), probed step by step like the main one:
a backup that cannot log in is found out now, not on the day the main server fails."""

from __future__ import annotations

from postroom.config import current_backup_settings, current_config
from postroom.config.model import ERROR
from postroom.health.checks.smtp import server_results
from postroom.health.registry import SERVICES, Result, check

DOCS = "README.md#a-backup-connection"


@check(
    "smtp-backup",
    "Backup SMTP server",
    SERVICES,
    "Connects to the backup SMTP server the way delivery would if the main server failed:"
    " DNS, TCP, greeting, EHLO, TLS and the certificate, and the login, without sending mail.",
    docs=DOCS,
    network=True,
    position=11,
)
def backup_check() -> list[Result]:
    config = current_config()
    results = [
        (Result.error if problem.level == ERROR else Result.warning)(
            f"{problem.source}{f':{problem.line}' if problem.line else ''} ({problem.key}):"
            f" {problem.message}",
            problem.hint,
            step="settings",
        )
        for problem in config.problems_of("backup")
    ]
    backup = current_backup_settings()
    if backup is None:
        if results:
            return results
        return [
            Result.info(
                "No backup SMTP server is set up: when the main server fails, mail waits in the"
                " queue and is retried.",
                "To let a second server take over, set Postroom:Smtp:Backup:Host (and Port,"
                " Username, Password, ...) in appsettings.json or Postroom__Smtp__Backup__Host"
                " in the environment.",
                step="settings",
            )
        ]
    if config.smtp.uses_pickup_directory or not config.smtp.configured:
        return results or [
            Result.info(
                f"A backup SMTP server ({backup.host.value}) is set, but no main SMTP server:"
                " the backup stands in only for one, so it is not used now.",
                "Set the main SMTP settings (Umbraco:CMS:Global:Smtp) first.",
                step="settings",
            )
        ]
    after = config.backup.after_temporary_failure_minutes.value
    results.insert(
        0,
        Result.success(
            f"A backup is set up: {backup.host.value}:{backup.port.value},"
            f" SecureSocketOptions {backup.secure_socket_options.value},"
            f" {'login as ' + backup.username.value if backup.username.value else 'no login'}."
            f" Mail switches to it when the main server cannot be reached or refuses TLS or the"
            f" login, or after {after} minutes of temporary (4xx) failures.",
            step="settings",
        ),
    )
    return results + server_results(backup)
