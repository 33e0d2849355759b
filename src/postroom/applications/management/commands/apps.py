from __future__ import annotations

import json
import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser

from postroom.applications import credentials
from postroom.applications.models import Application
from postroom.startup import prepare_database

_DURATION = re.compile(r"^(\d+)\s*([smhd]?)$")
_UNITS = {"": 3600, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``24h``, ``7d`` (a bare number is hours)."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is no duration; write e.g. 30m, 24h or 7d.")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


class Command(BaseCommand):
    help = "Manage the applications that may send through Postroom: create, list, disable, rotate."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser(
            "create", help="Create an application; prints its username and secret once."
        )
        create.add_argument("name")
        create.add_argument(
            "--from-domain",
            action="append",
            default=[],
            metavar="D",
            help="A domain (example.org) or address it may send as; repeat for more.",
        )
        create.add_argument(
            "--network",
            action="append",
            default=[],
            metavar="CIDR",
            help="A client network it may connect from (default: any); repeat for more.",
        )
        create.add_argument(
            "--trusted-network",
            action="store_true",
            help="Loopback clients in its networks may relay without logging in.",
        )
        create.add_argument("--rate-limit", type=int, metavar="N", help="Messages per minute.")
        create.add_argument("--json", action="store_true", help="Print JSON.")
        listing = actions.add_parser("list", help="List the applications (never their secrets).")
        listing.add_argument("--json", action="store_true", help="Print JSON.")
        for name, summary in (("disable", "Stop an application"), ("enable", "Let it send again")):
            action = actions.add_parser(name, help=f"{summary} (by name or username).")
            action.add_argument("name")
        rotate = actions.add_parser(
            "rotate", help="Give an application a new secret; prints it once."
        )
        rotate.add_argument("name")
        rotate.add_argument(
            "--grace",
            default="0",
            help="How long the old secret keeps working, e.g. 1h or 7d (default: not at all).",
        )
        rotate.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args, action: str, **options) -> None:
        prepare_database()
        getattr(self, f"_{action}")(**options)

    def _find(self, name: str) -> Application:
        application = (
            Application.objects.filter(username=name).first()
            or Application.objects.filter(name__iexact=name).first()
        )
        if application is None:
            raise CommandError(f"No application {name!r}; `postroom apps list` shows them.")
        return application

    def _print_secret(self, application: Application, secret: str, as_json: bool) -> None:
        if as_json:
            data = {"name": application.name, "username": application.username, "secret": secret}
            self.stdout.write(json.dumps(data))
            return
        self.stdout.write(f"Application: {application.name}")
        self.stdout.write(f"Username:    {application.username}")
        self.stdout.write(f"Secret:      {secret}")
        self.stdout.write("The secret is shown only now; store it in the site's settings.")

    def _create(self, name: str, from_domain: list[str], network: list[str], **options) -> None:
        try:
            application, secret = credentials.create_application(
                name,
                from_domain,
                client_networks=network,
                trusted_network_no_login=options["trusted_network"],
                rate_limit_per_minute=options["rate_limit"],
            )
        except ValueError as problem:
            raise CommandError(str(problem)) from None
        self._print_secret(application, secret, options["json"])

    def _list(self, **options) -> None:
        rows = [
            {
                "name": a.name,
                "username": a.username,
                "enabled": a.enabled,
                "allowed_senders": a.allowed_senders,
                "client_networks": a.client_networks,
                "trusted_network_no_login": a.trusted_network_no_login,
                "rate_limit_per_minute": a.rate_limit_per_minute,
            }
            for a in Application.objects.all()
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("No applications yet: `postroom apps create NAME --from-domain D`.")
        for row in rows:
            state = "enabled" if row["enabled"] else "disabled"
            senders = ", ".join(row["allowed_senders"]) or "(no senders)"
            self.stdout.write(f"{row['username']:<24} {state:<9} {row['name']}  from: {senders}")

    def _disable(self, name: str, **options) -> None:
        application = self._find(name)
        Application.objects.filter(pk=application.pk).update(enabled=False)
        self.stdout.write(f"{application.name} is disabled: its secrets no longer work.")

    def _enable(self, name: str, **options) -> None:
        application = self._find(name)
        Application.objects.filter(pk=application.pk).update(enabled=True)
        self.stdout.write(f"{application.name} is enabled.")

    def _rotate(self, name: str, grace: str, **options) -> None:
        application = self._find(name)
        try:
            period = duration(grace)
        except ValueError as problem:
            raise CommandError(str(problem)) from None
        secret = credentials.rotate(application, period)
        self._print_secret(application, secret, options["json"])
        if not options["json"]:
            if period:
                self.stdout.write(f"The old secret works for another {period}.")
            else:
                self.stdout.write("The old secret no longer works.")
