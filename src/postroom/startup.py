"""What every long-running command does first: prepare the database and say where things are."""

from __future__ import annotations

import signal
from collections.abc import Callable

from django.conf import settings
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from postroom import __version__, runtime
from postroom.config import current_config
from postroom.delivery.routing import describe_destination


def prepare_database() -> None:
    """Create and migrate the database if needed (SQLite files are created on first use)."""
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=0)


def database_description() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"SQLite at {db['NAME']} (WAL)"
    host = db.get("HOST") or "local socket"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"PostgreSQL database {db['NAME']} on {host}{port}"


def mail_lines() -> list[str]:
    config = current_config()
    lines = [f"  Mail:      {describe_destination(config.smtp)}"]
    for problem in config.errors:  # every section's, not only SMTP's
        lines.append(f"  ERROR      {problem}")
    for problem in config.warnings:
        lines.append(f"  warning    {problem}")
    return lines


def banner(parts: list[str]) -> str:
    head = f"Postroom {__version__} · {runtime.environment_name()} environment"
    return "\n".join(
        [
            head,
            *parts,
            f"  Database:  {database_description()}",
            f"  Site:      {runtime.site_dir()}",
            *mail_lines(),
            "Press Ctrl-C to stop.",
        ]
    )


def stop_on_sigterm(handler: Callable[[], None] | None = None) -> None:
    """Treat SIGTERM (service managers, containers) like Ctrl-C.

    SIGINT is set back to raising KeyboardInterrupt too: a process started in the background
    by a non-interactive shell inherits an ignored SIGINT and would not stop on Ctrl-C.
    """

    def on_term(signum: int, frame: object) -> None:
        if handler is not None:
            handler()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)
