"""What every long-running command does first: prepare the database and say where things are."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from postroom import __version__, runtime
from postroom.config import current_config
from postroom.delivery.routing import describe_destination

log = logging.getLogger("postroom.startup")


def prepare_database() -> None:
    """Create and migrate the database if needed (SQLite files are created on first use).

    The data directory is made private first: an installation from before Postroom kept it
    so (or one unpacked with a loose umask) is tightened, and each change is logged.
    """
    changes = runtime.secure_data_dir(settings.DATA_DIR)
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=0)
    changes += _make_sqlite_files_private()
    if changes:
        more = f"; and {len(changes) - 20} more" if len(changes) > 20 else ""
        log.warning(
            "Made the data directory private (readable by this user only): %s%s",
            "; ".join(changes[:20]),
            more,
        )


def sqlite_files() -> list[Path]:
    """The SQLite database and its WAL and SHM files (none on PostgreSQL)."""
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("sqlite3") or str(db["NAME"]).startswith((":memory:", "file:")):
        return []
    name = Path(db["NAME"])
    return [name, name.with_name(name.name + "-wal"), name.with_name(name.name + "-shm")]


def _make_sqlite_files_private() -> list[str]:
    # SQLite gives the WAL and SHM files the database file's mode, so a private database
    # keeps them private too; a database outside the data directory is tightened here.
    changes = []
    for path, mode in runtime.readable_by_others(sqlite_files()):
        os.chmod(path, runtime.PRIVATE_FILE)
        changes.append(f"{path}: {mode:o} -> {runtime.PRIVATE_FILE:o}")
    return changes


def database_description() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"SQLite at {db['NAME']} (WAL)"
    host = db.get("HOST") or "local socket"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"PostgreSQL database {db['NAME']} on {host}{port}"


def mail_lines(inbox_port: int | None = None) -> list[str]:
    config = current_config()
    lines = [f"  Mail:      {describe_destination(config.smtp, inbox_port)}"]
    for problem in config.errors:  # every section's, not only SMTP's
        lines.append(f"  ERROR      {problem}")
    for problem in config.warnings:
        lines.append(f"  warning    {problem}")
    return lines


def banner(parts: list[str], inbox_port: int | None = None) -> str:
    head = f"Postroom {__version__} · {runtime.environment_name()} environment"
    return "\n".join(
        [
            head,
            *parts,
            f"  Database:  {database_description()}",
            f"  Site:      {runtime.site_dir()}",
            *mail_lines(inbox_port),
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
