"""JSON as .NET configuration reads it: comments and trailing commas allowed, positions kept.

A small tokenizer and recursive-descent parser. Error messages give line and column but
never quote the text, which may hold a password.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 64
# Real configuration files have hundreds of tokens; the bound keeps a hostile 1 MiB file fast.
MAX_TOKENS = 100_000

_TOKEN = re.compile(
    r"""
     (?P<space>[ \t\r\n]+)
    |(?P<comment>//[^\n]*|/\*.*?\*/)
    |(?P<string>"[^"\\\x00-\x1f]*(?:\\.[^"\\\x00-\x1f]*)*")
    |(?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<punct>[{}\[\]:,])
    """,
    re.VERBOSE | re.DOTALL,
)
_WORDS = {"true": True, "false": False, "null": None}


class JsonError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.reason = message
        self.line = line
        self.column = column


class JsonTooLong(JsonError):
    """More tokens than MAX_TOKENS: not a configuration file, or a hostile one."""


@dataclass(frozen=True)
class Node:
    """A parsed value. ``value`` is a scalar, a list of Nodes, or a list of Members."""

    kind: str  # "object", "array", "string", "number", "bool", "null"
    value: Any
    line: int


@dataclass(frozen=True)
class Member:
    key: str
    line: int  # the line of the key
    node: Node


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines = [match.start() for match in re.finditer("\n", text)]
        self.pos = 0
        self.kind = ""
        self.lexeme = ""
        self.start = 0
        self.count = 0
        self.advance()

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_left(self.newlines, offset)
        column = offset - (self.newlines[line - 1] + 1 if line else 0)
        return line + 1, column + 1

    def fail(self, message: str, offset: int | None = None) -> JsonError:
        line, column = self.position(self.start if offset is None else offset)
        return JsonError(message, line, column)

    def advance(self) -> None:
        while True:
            self.start = self.pos
            if self.pos >= len(self.text):
                self.kind, self.lexeme = "end", ""
                return
            match = _TOKEN.match(self.text, self.pos)
            if match is None:
                raise self.fail(self._bad_character())
            self.pos = match.end()
            if match.lastgroup not in ("space", "comment"):
                self.kind, self.lexeme = match.lastgroup or "", match.group()
                self.count += 1
                if self.count > MAX_TOKENS:
                    line, column = self.position(self.start)
                    raise JsonTooLong(f"more than {MAX_TOKENS:,} tokens", line, column)
                return

    def _bad_character(self) -> str:
        char = self.text[self.pos]
        if char == '"':
            return 'a string is not closed: it needs a closing " on the same line'
        if self.text.startswith("/*", self.pos):
            return "a /* comment is not closed with */"
        if char == "'":
            return 'strings must be in double quotes ("..."), not single quotes'
        return "unexpected character"

    def describe(self) -> str:
        if self.kind == "end":
            return "the end of the file"
        if self.kind == "punct":
            return f"'{self.lexeme}'"
        return {"string": "a string", "number": "a number", "word": "a bare word"}[self.kind]

    def expect(self, punct: str, after: str) -> None:
        if self.lexeme != punct or self.kind != "punct":
            raise self.fail(f"expected '{punct}' {after}, found {self.describe()}")
        self.advance()

    def value(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.fail(f"values are nested more than {MAX_DEPTH} levels deep")
        line = self.position(self.start)[0]
        kind, lexeme = self.kind, self.lexeme
        if kind == "punct" and lexeme == "{":
            return Node("object", self.members(depth), line)
        if kind == "punct" and lexeme == "[":
            return Node("array", self.items(depth), line)
        if kind == "string":
            node = Node("string", self.string(), line)
        elif kind == "number":
            node = Node("number", self.number(), line)
        elif kind == "word" and lexeme in _WORDS:
            value = _WORDS[lexeme]
            node = Node("null" if value is None else "bool", value, line)
        elif kind == "word":
            raise self.fail("expected a value; a bare word must be true, false, null or quoted")
        else:
            raise self.fail(f"expected a value, found {self.describe()}")
        self.advance()
        return node

    def string(self) -> str:
        try:
            return json.loads(self.lexeme)
        except ValueError:
            raise self.fail("a string has an invalid escape sequence after \\") from None

    def number(self) -> int | float:
        try:
            if any(char in self.lexeme for char in ".eE"):
                return float(self.lexeme)
            return int(self.lexeme)
        except ValueError:
            raise self.fail("a number has too many digits") from None

    def members(self, depth: int) -> list[Member]:
        self.advance()  # {
        members: list[Member] = []
        seen: set[str] = set()
        while not (self.kind == "punct" and self.lexeme == "}"):
            if self.kind != "string":
                raise self.fail(f"expected a key in double quotes or '}}', found {self.describe()}")
            key, key_start = self.string(), self.start
            if key.lower() in seen:
                shown = key if len(key) <= 60 else key[:57] + "..."
                raise self.fail(f"the key {shown!r} appears twice in one object (keys ignore case)")
            seen.add(key.lower())
            self.advance()
            self.expect(":", "after a key")
            members.append(Member(key, self.position(key_start)[0], self.value(depth + 1)))
            if self.kind == "punct" and self.lexeme == ",":
                self.advance()
            elif not (self.kind == "punct" and self.lexeme == "}"):
                raise self.fail(f"expected ',' or '}}' after a value, found {self.describe()}")
        self.advance()
        return members

    def items(self, depth: int) -> list[Node]:
        self.advance()  # [
        items: list[Node] = []
        while not (self.kind == "punct" and self.lexeme == "]"):
            items.append(self.value(depth + 1))
            if self.kind == "punct" and self.lexeme == ",":
                self.advance()
            elif not (self.kind == "punct" and self.lexeme == "]"):
                raise self.fail(f"expected ',' or ']' after a value, found {self.describe()}")
        self.advance()
        return items


def parse(text: str) -> Node | None:
    """The document's value, or None when the text holds only whitespace and comments."""
    parser = _Parser(text)
    if parser.kind == "end":
        return None
    node = parser.value(0)
    if parser.kind != "end":
        raise parser.fail(
            f"expected the end of the file after the value, found {parser.describe()}"
        )
    return node
