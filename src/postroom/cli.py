"""The ``postroom`` console script: runs Postroom's management commands.

``postroom help`` lists Postroom's own commands; ``postroom help --all`` adds Django's.
``--site DIR`` may stand anywhere on the line: it names the site directory that holds
web.config and appsettings*.json, and must be known before the settings load.
"""

from __future__ import annotations

import argparse
import os
import sys


def _take_site_option(argv: list[str]) -> list[str]:
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--site":
            value = next(args, None)
            if value is None:
                sys.exit("postroom: --site needs a directory, e.g. --site /var/www/mysite")
            os.environ["POSTROOM_SITE"] = value
        elif arg.startswith("--site="):
            os.environ["POSTROOM_SITE"] = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return rest


def _print_postroom_commands() -> None:
    from django.core.management import get_commands, load_command_class

    commands = get_commands()
    ours = sorted(name for name, app in commands.items() if app.startswith("postroom."))
    print("Usage: postroom <command> [options]   (postroom help <command> for its options)\n")
    print("Commands:")
    for name in ours:
        command = load_command_class(commands[name], name)
        summary = (command.help or "").strip().splitlines()[0] if command.help else ""
        print(f"  {name:<14}{summary}")
    print("\nEvery command takes --site DIR (default: the current directory).")
    print("postroom help --all also lists Django's own commands (migrate, shell, ...).")


# Options every Django command has, which mean nothing to Postroom's users: still accepted,
# never listed by `postroom help <command>` or `postroom <command> --help`.
DJANGO_BASE_OPTIONS = frozenset(
    {"--version", "--verbosity", "--settings", "--pythonpath", "--traceback", "--no-color",
     "--force-color", "--skip-checks"}
)  # fmt: skip


def _postroom_command_line() -> None:
    """Help without Django's options; a command's error printed once, as plain words."""
    from django.core.management.base import BaseCommand, CommandError, SystemCheckError

    BaseCommand.suppressed_base_arguments = DJANGO_BASE_OPTIONS
    create_parser = BaseCommand.create_parser

    def create_parser_without_skip_checks(self: BaseCommand, *args: object, **kwargs: object):
        parser = create_parser(self, *args, **kwargs)
        for action in parser._actions:  # --skip-checks is added apart from the base options
            if "--skip-checks" in action.option_strings:
                action.help = argparse.SUPPRESS
        return parser

    BaseCommand.create_parser = create_parser_without_skip_checks
    execute = BaseCommand.execute

    def execute_saying_errors_plainly(self: BaseCommand, *args: object, **options: object):
        try:
            return execute(self, *args, **options)
        except CommandError as error:
            if options.get("traceback") or isinstance(error, SystemCheckError):
                raise
            name = type(self).__module__.rsplit(".", 1)[-1]
            self.stderr.write(f"postroom {name}: {error}")
            sys.exit(error.returncode)

    BaseCommand.execute = execute_saying_errors_plainly


def main(argv: list[str] | None = None) -> None:
    from postroom.runtime import keep_files_private

    # Before the settings load: they create the data directory and the secret key.
    keep_files_private()
    argv = _take_site_option(list(sys.argv[1:] if argv is None else argv))
    if "--version" in argv or argv in (["-V"], ["version"]):
        # Django would answer with its own version, on any command line that has --version.
        from postroom import __version__

        print(f"Postroom {__version__}")
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")

    import django
    from django.core.management import execute_from_command_line

    if not argv or argv in (["help"], ["-h"], ["--help"]):
        django.setup()
        _print_postroom_commands()
        return
    if argv == ["help", "--all"]:
        argv = ["help"]
    _postroom_command_line()
    execute_from_command_line(["postroom", *argv])


if __name__ == "__main__":
    main()
