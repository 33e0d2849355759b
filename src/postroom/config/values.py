"""Typed values from the layered map of the files and the environment, each with its origin.

A value that cannot be used becomes an :class:`Issue` naming the place, the key, what was
found, what is expected and how to fix it; the section then holds the default, with an origin
that says so ("default (... is invalid)"), so nothing falls back silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from postroom.config.model import ERROR, Issue
from postroom.mailsettings import convert
from postroom.mailsettings.layers import Entry, Layers
from postroom.mailsettings.model import Setting

DEFAULT = "default"
_SECRET_WORDS = ("password", "secret", "apikey", "token", "webhookurl")


def is_secret(key: str) -> bool:
    return key.rsplit(":", 1)[-1].lower().endswith(_SECRET_WORDS)


def invalid_origin(entry: Entry) -> str:
    return f"default ({entry.origin} is invalid)"


class Reader:
    """Reads one section's keys from ``layers``; problems are collected in ``issues``."""

    def __init__(self, layers: Layers, section: str, issues: list[Issue]) -> None:
        self.layers, self.section, self.issues = layers, section, issues

    def entry(self, key: str) -> Entry | None:
        # An object or array where a value belongs is kept: parsing it reports the problem.
        entry = self.layers.get(key)
        return None if entry is None or entry.is_blank else entry

    def typed(
        self, key: str, default: Any, parse: Callable[[Any], Any], hint: str, blocks: tuple = ()
    ) -> Setting:
        entry = self.entry(key)
        if entry is None:
            return Setting(default, DEFAULT) if default is not None else Setting()
        try:
            return Setting(parse(entry.value), entry.origin)
        except convert.Invalid as error:
            self.report(entry, key, f"expected {error.expected}.", hint, default, blocks)
            if default is None:
                return Setting(None, f"{entry.origin} (invalid)")
            return Setting(default, invalid_origin(entry))

    def whole(self, key: str, default: int, low: int, high: int, hint: str) -> Setting:
        return self.typed(key, default, lambda v: convert.to_int(v, low, high), hint)

    def flag(self, key: str, default: bool) -> Setting:
        return self.typed(key, default, convert.to_bool, f"Write true or false for {key}.")

    def text(self, key: str, default: str | None = None) -> Setting:
        return self.typed(key, default, convert.to_string, f"Write {key} as a string.")

    def report(
        self,
        entry: Entry,
        key: str,
        expected: str,
        hint: str,
        default: Any = None,
        blocks: tuple = (),
        level: str = ERROR,
    ) -> None:
        found = convert.describe(entry.value, secret=is_secret(key))
        if default is not None:
            hint = f"{hint} Until then the default {_plain(default)} is used."
        self.issues.append(
            Issue(
                entry.source,
                f"{entry.name} is {found}; {expected}",
                line=entry.line,
                key=key,
                hint=hint.strip(),
                section=self.section,
                level=level,
                blocks=blocks,
            )
        )


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
