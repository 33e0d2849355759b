from __future__ import annotations

import getpass
import sys
from collections.abc import Callable

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from postroom.accounts.models import User
from postroom.config.hosting import variable
from postroom.startup import prepare_database

NO_TERMINAL = (
    "There is no terminal to ask for the email address and password. Pass them as options: "
    "postroom createadmin --email ADDRESS [--name NAME] --password-from-env VAR "
    "(VAR is the name of an environment variable that holds the password, "
    "e.g. ADMIN_PASSWORD=... postroom createadmin --email ada@example.com "
    "--password-from-env ADMIN_PASSWORD)."
)


def _ask(prompt: Callable[[str], str], question: str) -> str:
    try:
        return prompt(question)
    except EOFError:  # the input ended before an answer: no terminal after all
        raise CommandError(NO_TERMINAL) from None


class Command(BaseCommand):
    help = "Create an administrator (the first one, or another)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", help="The administrator's email address (the user name).")
        parser.add_argument("--name", default="", help="Display name.")
        parser.add_argument(
            "--password-from-env",
            metavar="VAR",
            help="Read the password from this environment variable instead of asking.",
        )

    def handle(self, *args, email: str | None, name: str, password_from_env: str | None, **opts):
        if not sys.stdin.isatty() and not (email and password_from_env):
            raise CommandError(NO_TERMINAL)
        prepare_database()
        email = (email or _ask(input, "Email address: ")).strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"'{email}' is not a valid email address.") from None
        if User.objects.filter(email=email).exists():
            raise CommandError(f"A user {email} exists already.")
        if password_from_env:
            password = variable(password_from_env)
            if not password:
                raise CommandError(f"The environment variable {password_from_env} is not set.")
        else:
            password = _ask(getpass.getpass, "Password (at least 10 characters): ")
            if password != _ask(getpass.getpass, "Password, again: "):
                raise CommandError("The two passwords differ.")
        try:
            password_validation.validate_password(password, User(email=email, name=name))
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        User.objects.create_superuser(email, password, name=name)
        self.stdout.write(f"Administrator {email} created. Log in at /login/.")
