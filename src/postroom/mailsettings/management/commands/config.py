"""``postroom config show [--json]``: the effective SMTP settings and where each comes from."""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from postroom import runtime
from postroom.mailsettings import SmtpSettings, load_smtp_settings
from postroom.mailsettings.model import PICKUP_DIRECTORY, Problem


class Command(BaseCommand):
    help = (
        "Show the effective SMTP settings and where each value comes from.\n"
        "Sources, lowest precedence first: web.config, appsettings.json,"
        " appsettings.{Environment}.json, environment variables (Umbraco__CMS__Global__Smtp__*)."
        " Exits with status 1 when the settings have errors."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="show")
        show = actions.add_parser(
            "show", help="Print each SMTP setting with its value and origin, then the problems."
        )
        show.add_argument(
            "--json", action="store_true", help="Print the settings as JSON (password masked)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        site, environment = runtime.site_dir(), runtime.environment_name()
        settings = load_smtp_settings(site, environment, os.environ)
        if options["json"]:
            self.stdout.write(json.dumps(settings.as_json(), indent=2))
        else:
            self.stdout.write(render(settings, f"{site} (environment {environment})"))
        if settings.errors:
            raise SystemExit(1)


def render(settings: SmtpSettings, where: str) -> str:
    rows = [("setting", "value", "origin")]
    for name, setting in settings.fields():
        value = "(not set)" if setting.shown() is None else str(setting.shown())
        if setting.value is None and setting.origin and setting.origin != "default":
            value = "(invalid)" if _has_error(settings, name) else "(empty)"
        rows.append((name, value, setting.origin or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"SMTP settings for {where}", ""]
    lines += [f"  {n:<{widths[0]}}  {v:<{widths[1]}}  {o}".rstrip() for n, v, o in rows]
    for title, problems in (("Errors", settings.errors), ("Warnings", settings.warnings)):
        if problems:
            lines += ["", f"{title} ({len(problems)}):"]
            lines += [line for problem in problems for line in _problem_lines(problem)]
    lines += ["", _summary(settings)]
    return "\n".join(lines)


def _has_error(settings: SmtpSettings, name: str) -> bool:
    return any(problem.key == name for problem in settings.errors)


def _problem_lines(problem: Problem) -> list[str]:
    where = problem.source + (f":{problem.line}" if problem.line else "")
    lines = [f"  {where}" + (f"  [{problem.key}]" if problem.key else ""), f"    {problem.message}"]
    if problem.hint:
        lines.append(f"    Fix: {problem.hint}")
    return lines


def _summary(settings: SmtpSettings) -> str:
    if settings.configured:
        if settings.uses_pickup_directory:
            return f"SMTP is configured: messages are written to {settings.pickup_directory.value}."
        target = f"{settings.host.value}:{settings.port.value}"
        return (
            f"SMTP is configured: mail goes to {target} ({settings.secure_socket_options.value})."
        )
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
