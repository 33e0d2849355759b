"""``postroom config show [--json]``: every setting, where each comes from, and the problems."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from postroom.config import Config, load_config
from postroom.config.hosting import process_environ
from postroom.mailsettings import SmtpSettings
from postroom.mailsettings.model import PICKUP_DIRECTORY, Problem, Setting

TITLES = {
    "backup": "Backup SMTP connection (Postroom:Smtp:Backup)",
    "delivery": "Delivery (Postroom:Delivery)",
    "alerts": "Alerts (Postroom:Alerts)",
    "security": "Security",
    "health": "Health (Postroom:Health, Postroom:HealthReport)",
    "events": "Provider events (Postroom:Events)",
    "inbox": "Development inbox (Postroom:Inbox)",
    "hosting": "Hosting (environment variables)",
}


class Command(BaseCommand):
    help = (
        "Show the effective configuration and where each value comes from.\n"
        "Sections: SMTP, delivery, alerts, security, health (read from web.config,"
        " appsettings.json, appsettings.{Environment}.json and environment variables such as"
        " Umbraco__CMS__Global__Smtp__Host, lowest precedence first) and hosting (POSTROOM_*"
        " variables). Secrets are shown as ********. Exits with status 1 when the configuration"
        " has errors."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="show")
        show = actions.add_parser(
            "show", help="Print each setting with its value and origin, then the problems."
        )
        show.add_argument(
            "--json", action="store_true", help="Print the configuration as JSON (secrets masked)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options.get("action"):  # `postroom config` alone: what it can do
            self.stdout.write(
                "Usage: postroom config show [--json]\n\n"
                "Subcommands:\n"
                "  show    Print each setting with its value and origin, then the problems.\n"
                "          --json prints the same as JSON (secrets masked).\n"
            )
            return
        config = load_config(dict(process_environ()))
        if options["json"]:
            self.stdout.write(json.dumps(config.as_json(), indent=2))
        else:
            self.stdout.write(render_config(config))
        if config.errors:
            raise SystemExit(1)


def render_config(config: Config) -> str:
    hosting = config.hosting
    where = f"{hosting.site_dir.value} (environment {hosting.environment.value})"
    lines = [_smtp_table(config.smtp, where)]
    for name, settings in config.sections()[1:]:
        lines += ["", TITLES[name], _table(("key", "value", "origin"), settings)]
    for title, problems in (("Errors", config.errors), ("Warnings", config.warnings)):
        if problems:
            lines += ["", f"{title} ({len(problems)}):"]
            lines += [line for problem in problems for line in _problem_lines(problem)]
    lines += ["", _summary(config.smtp)]
    return "\n".join(lines)


def _table(head: tuple[str, str, str], settings: list[tuple[str, Setting]]) -> str:
    rows = [head]
    for key, setting in settings:
        shown = setting.shown()
        if isinstance(shown, tuple):
            shown = ",".join(shown) or "(none)"
        rows.append((key, "(not set)" if shown is None else str(shown), setting.origin or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "\n".join(f"  {k:<{widths[0]}}  {v:<{widths[1]}}  {o}".rstrip() for k, v, o in rows)


STATE_WORDS = {"invalid": "(invalid)", "empty": "(empty)", "unset": "(not set)"}


def _smtp_table(settings: SmtpSettings, where: str) -> str:
    rows = [("key", "value", "origin")]
    for key, state, setting in settings.rows():
        value = str(setting.shown()) if state == "set" else STATE_WORDS[state]
        rows.append((key, value, setting.origin or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"SMTP settings for {where}", ""]
    lines += [f"  {n:<{widths[0]}}  {v:<{widths[1]}}  {o}".rstrip() for n, v, o in rows]
    return "\n".join(lines)


def _problem_lines(problem: Problem) -> list[str]:
    where = problem.source + (f":{problem.line}" if problem.line else "")
    key = f"  [{problem.display_key}]" if problem.key else ""
    lines = [f"  {where}{key}", f"    {problem.message}"]
    if problem.hint:
        lines.append(f"    Fix: {problem.hint}")
    return lines


def _summary(settings: SmtpSettings) -> str:
    if settings.configured:
        if settings.uses_pickup_directory:
            return f"SMTP is configured: messages are written to {settings.pickup_directory.value}."
        return f"SMTP is configured: mail goes to {settings.describe_server()}."
    if settings.errors:
        reason = "fix the errors above"
    elif settings.placeholder:
        reason = "the placeholder values from the documentation are in use"
    elif not settings.from_address.is_set:
        reason = "no From address is set"
    elif settings.delivery_method.value == PICKUP_DIRECTORY:
        reason = "no pickup directory is set"
    else:
        reason = "no Host is set"
    return f"SMTP is not configured: {reason}."
