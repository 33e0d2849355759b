"""The process environment: read here (and, for the cache's key, in the snapshot), nowhere
else in Postroom; and the typed reading of one ``POSTROOM_*`` variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from postroom.config.model import ERROR, Issue
from postroom.mailsettings import convert
from postroom.mailsettings.model import Setting

DEVELOPMENT, PRODUCTION = "Development", "Production"
DEFAULT = "default"


def process_environ() -> Mapping[str, str]:
    """The process environment: read here, and nowhere else in Postroom."""
    return os.environ


def variable(name: str) -> str | None:
    """One variable the user named on the command line (``--password-from-env NAME``)."""
    return os.environ.get(name)


def environment_name(environ: Mapping[str, str]) -> str:
    """``POSTROOM_ENVIRONMENT``, as .NET names it: Development (default) or Production; a
    custom name such as Staging selects appsettings.Staging.json."""
    value = environ.get("POSTROOM_ENVIRONMENT", "").strip()
    for known in (DEVELOPMENT, PRODUCTION):
        if value.lower() == known.lower():
            return known
    return value or DEVELOPMENT


def site_dir(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("POSTROOM_SITE") or os.getcwd()).resolve()


def data_dir(environ: Mapping[str, str]) -> Path:
    configured = environ.get("POSTROOM_DATA")
    return (Path(configured) if configured else site_dir(environ) / ".postroom").resolve()


class EnvReader:
    """Reads hosting variables; each unusable one becomes an :class:`Issue` in ``issues``."""

    def __init__(self, environ: Mapping[str, str], issues: list[Issue]) -> None:
        self.environ, self.issues = environ, issues

    def raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        return value.strip() if value is not None and value.strip() else None

    def origin(self, name: str) -> str:
        return f"env:{name}"

    def problem(
        self,
        name: str,
        message: str,
        hint: str,
        blocks: tuple[str, ...] = (),
        level: str = ERROR,
    ) -> None:
        self.issues.append(
            Issue(
                "env", message, key=name, hint=hint, section="hosting", level=level, blocks=blocks
            )
        )

    def invalid(
        self, name: str, value: str, expected: str, hint: str, blocks: tuple[str, ...] = ()
    ) -> None:
        self.problem(
            name, f"{name} is {convert.describe(value)}; expected {expected}.", hint, blocks
        )

    def number(
        self,
        name: str,
        default: float,
        low: float,
        high: float,
        hint: str,
        blocks: tuple[str, ...] = (),
        whole: bool = True,
    ) -> Setting:
        value = self.raw(name)
        if value is None:
            return Setting(default, DEFAULT)
        try:
            if whole:
                number: float = convert.to_int(value, int(low), int(high))
            else:
                number = convert.to_float(value, low, high)
        except convert.Invalid as error:
            self.invalid(name, value, error.expected, hint, blocks)
            return Setting(default, f"default (env:{name} is invalid)")
        return Setting(number, self.origin(name))

    def flag(self, name: str, default: bool) -> Setting:
        value = self.raw(name)
        if value is None:
            return Setting(default, DEFAULT)
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return Setting(True, self.origin(name))
        if lowered in ("0", "false", "no", "off"):
            return Setting(False, self.origin(name))
        self.invalid(name, value, "true or false", f"Set {name}=true or {name}=false.")
        return Setting(default, f"default (env:{name} is invalid)")

    def text(self, name: str, default: str | None = None) -> Setting:
        value = self.raw(name)
        if value is None:
            return Setting(default, DEFAULT) if default is not None else Setting()
        return Setting(value, self.origin(name))
