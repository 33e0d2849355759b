"""The layered key/value map every source feeds: lower-cased colon paths, each with its origin.

Keys follow .NET configuration: ``Umbraco:CMS:Global:Smtp:Host`` from JSON, the same key from
the variable ``Umbraco__CMS__Global__Smtp__Host``; keys ignore case. A later layer replaces
an earlier one key by key, so a web.config host and an environment password combine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from postroom.mailsettings.jsonconfig import Node

SMTP = "umbraco:cms:global:smtp"
POSTROOM_SMTP = "postroom:smtp"
ENV_PREFIXES = ("umbraco__", "postroom__", "umbraco:", "postroom:")


@dataclass(frozen=True)
class Container:
    """The value of a key that holds a JSON object or array: it has children, not a value."""

    kind: str  # "object" or "array"


OBJECT = Container("object")
ARRAY = Container("array")


@dataclass(frozen=True)
class Entry:
    """One key's value in one source. ``name`` is the key as the user wrote it."""

    value: Any = field(repr=False)  # str, int, float, bool, None or a Container
    source: str  # "web.config", "appsettings.json", "env"
    line: int | None
    name: str  # "Umbraco:CMS:Global:Smtp:Port", "port on <network>", "Umbraco__CMS__..."

    @property
    def origin(self) -> str:
        if self.source == "env":
            return f"env:{self.name}"
        return f"{self.source}:{self.line}" if self.line else self.source

    @property
    def is_blank(self) -> bool:
        return self.value is None or (isinstance(self.value, str) and not self.value.strip())


class Layers:
    """Every source's entries, lowest precedence first; ``get`` gives the winning one."""

    def __init__(self) -> None:
        self._entries: dict[str, list[Entry]] = {}

    def add(self, key: str, entry: Entry) -> None:
        self._entries.setdefault(key.lower(), []).append(entry)

    def get(self, key: str) -> Entry | None:
        entries = self._entries.get(key.lower())
        return entries[-1] if entries else None

    def history(self, key: str) -> list[Entry]:
        """All entries for the key, lowest precedence first."""
        return list(self._entries.get(key.lower(), ()))

    def children(self, section: str) -> Iterator[tuple[str, Entry]]:
        """The direct children of a section with their winning entries."""
        prefix = section.lower() + ":"
        for key, entries in self._entries.items():
            if key.startswith(prefix) and ":" not in key[len(prefix) :]:
                yield key, entries[-1]


def json_entries(root: Node, source: str) -> Iterator[tuple[str, Entry]]:
    """Flatten a parsed JSON object the .NET way: objects and arrays become colon paths."""
    stack: list[tuple[str, str, Node, int]] = [("", "", root, root.line)]
    while stack:
        key, name, node, line = stack.pop()
        if key:
            value = (
                OBJECT if node.kind == "object" else ARRAY if node.kind == "array" else node.value
            )
            yield key, Entry(value, source, line, name)
        if node.kind == "object":
            for member in node.value:
                key_path, name_path = _join(key, member.key.lower()), _join(name, member.key)
                stack.append((key_path, name_path, member.node, member.line))
        elif node.kind == "array":
            for index, item in enumerate(node.value):
                stack.append((_join(key, str(index)), _join(name, str(index)), item, item.line))


def env_entries(environ: Mapping[str, str]) -> Iterator[tuple[str, Entry]]:
    """Variables such as ``Umbraco__CMS__Global__Smtp__Password`` (any letter case)."""
    for name in sorted(environ):
        if name.lower().startswith(ENV_PREFIXES):
            yield env_key(name), Entry(environ[name], "env", None, name)


def env_key(name: str) -> str:
    return name.replace("__", ":").lower()


def _join(prefix: str, part: str) -> str:
    return f"{prefix}:{part}" if prefix else part
