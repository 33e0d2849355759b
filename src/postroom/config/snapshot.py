"""Reading the whole configuration at once, and the current snapshot, re-read on change.

``current_config()`` is called per request and per worker loop. It compares the relevant
variables of the environment and the files' stat results with those of the last read (a few
microseconds) and reads everything again only when one changed; a file modified within the
last two seconds is read again at every call, because two writes within one clock tick leave
the same modification time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from postroom.config import hosting as hosting_reader
from postroom.config.backup import read_backup
from postroom.config.model import ERROR, SERVE, WARNING, Config, Issue
from postroom.config.sections import (
    lease_problems,
    read_alerts,
    read_delivery,
    read_events,
    read_health,
    read_inbox,
    read_security,
)
from postroom.config.unknown import unknown_keys
from postroom.mailsettings.layers import Layers
from postroom.mailsettings.loader import Loaded, load_sources
from postroom.mailsettings.model import Problem

log = logging.getLogger("postroom.config")

_RACY_NS = 2_000_000_000
_PREFIXES = ("umbraco__", "umbraco:", "postroom_", "postroom:")


@dataclass(frozen=True)
class Snapshot:
    config: Config
    layers: Layers
    watched: tuple[tuple[Path, bool], ...]


def load_config(environ: Mapping[str, str]) -> Config:
    """The whole configuration for these variables (and the files of their site)."""
    return _read(environ).config


def _read(environ: Mapping[str, str]) -> Snapshot:
    hosting, hosting_issues = hosting_reader.read_hosting(environ)
    loaded: Loaded = load_sources(hosting.site_dir.value, str(hosting.environment.value), environ)
    issues: list[Issue] = [_issue(p, ERROR) for p in loaded.settings.errors]
    issues += [_issue(p, WARNING) for p in loaded.settings.warnings]
    backup = read_backup(loaded.layers, issues, loaded.settings, hosting.site_dir.value)
    delivery = read_delivery(loaded.layers, issues)
    alerts = read_alerts(loaded.layers, issues)
    security = read_security(loaded.layers, issues)
    health = read_health(loaded.layers, issues)
    events = read_events(loaded.layers, issues)
    inbox = read_inbox(loaded.layers, issues)
    unknown_keys(loaded.layers, issues)
    issues += lease_problems(hosting.lease_seconds.value, loaded.settings.timeout.value)
    config = Config(
        smtp=loaded.settings,
        backup=backup,
        delivery=delivery,
        alerts=alerts,
        security=security,
        health=health,
        events=events,
        inbox=inbox,
        hosting=hosting,
        problems=tuple(issues + hosting_issues),
    )
    return Snapshot(config, loaded.layers, loaded.watched)


def _issue(problem: Problem, level: str) -> Issue:
    return Issue(
        problem.source,
        problem.message,
        line=problem.line,
        key=problem.key,
        hint=problem.hint,
        section="smtp",
        level=level,
    )


def relevant_environ(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The variables that can change the configuration, for noticing that they changed."""
    return tuple(
        sorted(
            (k, v)
            for k, v in environ.items()
            if k.lower().startswith(_PREFIXES) or k == "DATABASE_URL"
        )
    )


def _stat(path: Path, times: bool) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not times:
        return (st.st_mode, st.st_uid, st.st_gid)
    return (st.st_mode, st.st_uid, st.st_gid, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _fingerprint(snapshot: Snapshot) -> tuple[tuple[int, ...] | None, ...]:
    return tuple(_stat(path, times) for path, times in snapshot.watched)


def _environ_state(environ: Mapping[str, str]) -> tuple[object, ...]:
    """All of the environment, cheaply: CPython keeps it as a dict of bytes, which is copied
    without decoding each name and value (decoding them all costs ~200 us per call)."""
    data = getattr(environ, "_data", None)
    return tuple(data.items()) if isinstance(data, dict) else tuple(environ.items())


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._environ_state: tuple[object, ...] | None = None
        self._relevant: tuple[tuple[str, str], ...] = ()
        self._key: tuple[object, ...] | None = None
        self._stats: tuple[object, ...] = ()
        self._racy = True
        self._snapshot: Snapshot | None = None

    def get(self) -> Snapshot:
        environ = hosting_reader.process_environ()
        state = _environ_state(environ)
        with self._lock:
            if state != self._environ_state:
                self._environ_state, self._relevant = state, relevant_environ(environ)
            relevant = self._relevant
            # Without POSTROOM_SITE the site is the working directory, which may change.
            site_set = any(name == "POSTROOM_SITE" and value for name, value in relevant)
            key = (relevant, None if site_set else os.getcwd())
            snapshot = self._snapshot
            fresh = snapshot is not None and key == self._key and not self._racy
            if fresh and snapshot is not None and _fingerprint(snapshot) == self._stats:
                return snapshot
            started = time.time_ns()
            snapshot = _read(dict(environ))
            stats = _fingerprint(snapshot)
            self._key, self._stats, self._snapshot = key, stats, snapshot
            self._racy = any(s and len(s) > 3 and s[5] > started - _RACY_NS for s in stats)
            log.debug("Configuration read for %s", snapshot.config.hosting.site_dir.value)
            return snapshot


_cache = _Cache()


def current_config() -> Config:
    """The configuration of this process, re-read when a file or a variable changed."""
    return _cache.get().config


def current_layers() -> Layers:
    """The raw layered map behind :func:`current_config` (for ``config.read_setting``)."""
    return _cache.get().layers


def blocking_problems(part: str) -> tuple[Issue, ...]:
    """The errors that stop ``part`` (web, worker, inbox or serve) from starting."""
    return current_config().blocking_problems(part)


NAMES = {
    "web": "the backoffice",
    "worker": "the delivery worker",
    "inbox": "the mail catcher",
    SERVE: "Postroom",
}


def refusal(part: str) -> str | None:
    """The message a command prints instead of starting ``part``, or None when it can start."""
    problems = blocking_problems(part)
    if not problems:
        return None
    count = "1 error that stops" if len(problems) == 1 else f"{len(problems)} errors that stop"
    lines = [f"{NAMES.get(part, part)} cannot start: the configuration has {count} it."]
    for problem in problems:
        where = problem.source + (f":{problem.line}" if problem.line else "")
        lines.append(f"  {where} [{problem.display_key}]: {problem.message}")
        if problem.hint:
            lines.append(f"    Fix: {problem.hint}")
    lines.append("See them all with: postroom config show")
    text = "\n".join(lines)
    return text[0].upper() + text[1:]


def ensure_can_start(part: str) -> None:
    """Raise CommandError (exit status 1, no traceback) when ``part`` must not start."""
    from django.core.management.base import CommandError

    message = refusal(part)
    if message is not None:
        raise CommandError(message)
