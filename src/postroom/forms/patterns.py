"""Field patterns: run by RE2, whose time grows linearly with the answer, never by a
backtracking engine. A visitor's answer can therefore never pin the CPU, whatever the pattern.

RE2 has no backreferences, lookarounds, atomic groups or possessive quantifiers. The builder
refuses such patterns (:func:`problem`); one saved before this check is not applied at all
(:func:`compiled` returns None) and the builder shows a warning for it.
"""

from __future__ import annotations

import functools
import re

import re2

MAX_MEMORY = 2 * 1024 * 1024  # per compiled pattern; RE2 refuses patterns that need more

# Python reads a{,3} as a{0,3}, RE2 as the text "a{,3}": refused rather than silently changed.
_NO_LOWER_BOUND = re.compile(r"(?<!\\)\{,\d+\}")

# Constructs RE2 does not run, found in the pattern's text to name them in the message.
# Only consulted once RE2 has refused a pattern, so a rare false match costs only wording.
_UNSUPPORTED = (
    (re.compile(r"\\[1-9]|\(\?P=|\\k<"), "a backreference such as \\1"),
    (re.compile(r"\(\?<?[=!]"), "a lookahead or lookbehind such as (?=…) or (?<!…)"),
    (re.compile(r"\(\?>"), "an atomic group (?>…)"),
    (re.compile(r"[*+?}]\+"), "a possessive quantifier such as ++"),
    (re.compile(r"\\Z"), "\\Z (leave it out: the whole answer must match anyway)"),
    (re.compile(r"\(\?#"), "a comment (?#…)"),
    (re.compile(r"\(\?[a-zA-Z]*x"), "verbose mode (?x)"),
    (_NO_LOWER_BOUND, "a repetition without its lower bound such as {,3} (write {0,3})"),
)


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported to the editor, not to stderr
    options.never_capture = True  # only "does it match" is asked
    options.max_mem = MAX_MEMORY
    return options


@functools.lru_cache(maxsize=512)
def compiled(pattern: str):  # noqa: ANN201 (re2's compiled type is private)
    """``pattern`` compiled by RE2, or None when RE2 cannot run it (as it was meant)."""
    if _NO_LOWER_BOUND.search(pattern):
        return None
    try:
        return re2.compile(pattern, _options())
    except re2.error:
        return None


def problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used as a field's pattern, or None when it can."""
    if not pattern or compiled(pattern) is not None:
        return None
    for finder, construct in _UNSUPPORTED:
        if finder.search(pattern):
            return (
                f"it uses {construct}, which Postroom does not support (patterns are "
                "checked with RE2, in time proportional to the answer's length, so that no "
                "answer can keep the server busy)"
            )
    return f"it is not a valid regular expression ({_reason(pattern)})"


def _reason(pattern: str) -> str:
    try:
        re2.compile(pattern, _options())
    except re2.error as error:
        text = error.args[0] if error.args else ""
        return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return "unknown error"


def matches(pattern: str, answer: str) -> bool | None:
    """Whether the whole ``answer`` matches; None when the pattern cannot be run."""
    regexp = compiled(pattern)
    if regexp is None:
        return None
    return regexp.fullmatch(answer) is not None


# -- the browser's copy -------------------------------------------------------------------------
# Browsers compile the HTML pattern attribute as a JavaScript RegExp with the "v" flag. Only a
# pattern written in a small common subset, meaning the same in both engines, is given to the
# browser; any other is checked by the server alone (the browser would ignore or misread it).

# \s: JavaScript's also takes Unicode spaces, RE2's only ASCII ones, so the browser is never
# stricter with \s; it would be with \S, and with \s in a negated class, which are left out.
_PLAIN_ESCAPES = set("dDwWsbBntrfv") | set("^$\\.*+?()[]{}|/")
_CLASS_ESCAPES = set("dDwWntrfv") | set("^$\\.*+?()[]{}|/-")
_CLASS_RESERVED = set("()[]{}/|-\\")  # must be escaped inside a class in "v" mode
_DOUBLES = set("&!#$%*+,.:;<=>?@^`~")  # a pair of these is reserved inside a "v" class
_QUANTIFIER = re.compile(r"\{\d+(,\d*)?\}")


def browser_pattern(pattern: str) -> str | None:
    """``pattern`` for the HTML ``pattern`` attribute, or None when it is better left out."""
    if not pattern or compiled(pattern) is None:
        return None
    out: list[str] = []
    index, depth = 0, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            following = pattern[index + 1 : index + 2]
            if following not in _PLAIN_ESCAPES:
                return None
            out.append(char + following)
            index += 2
            continue
        if char == "[":
            end = _class(pattern, index, out)
            if end is None:
                return None
            index = end
            continue
        if char == "(":
            if pattern.startswith("(?:", index):
                out.append("(?:")
                index += 3
                depth += 1
                continue
            if pattern.startswith("(?", index):
                return None  # flags and named groups are written differently in JavaScript
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "{":
            quantifier = _QUANTIFIER.match(pattern, index)
            if quantifier is None:
                return None  # a lone brace is literal in RE2, an error in "v" mode
            out.append(quantifier.group(0))
            index = quantifier.end()
            continue
        elif char in "}]":
            return None
        out.append(char)
        index += 1
    return "".join(out) if depth == 0 else None


def _class(pattern: str, start: int, out: list[str]) -> int | None:
    """Copy the character class at ``start`` in "v" syntax; the index after it, or None."""
    index = start + 1
    parts = ["["]
    if pattern.startswith("^", index):
        parts.append("^")
        index += 1
    first = index
    previous = ""
    while index < len(pattern):
        char = pattern[index]
        if char == "]" and index > first:
            out.append("".join(parts) + "]")
            return index + 1
        if char == "\\":
            following = pattern[index + 1 : index + 2]
            if following not in _CLASS_ESCAPES:
                return None
            parts.append(char + following)
            previous = ""
            index += 2
            continue
        if char == "[" and pattern.startswith("[:", index):
            return None  # a POSIX class such as [:alpha:]
        if char == "-" and previous and index + 1 < len(pattern) and pattern[index + 1] != "]":
            upper = pattern[index + 1]
            if upper in _CLASS_RESERVED or upper in _DOUBLES:
                return None
            parts.append("-" + upper)
            previous = ""
            index += 2
            continue
        if char in _CLASS_RESERVED:
            parts.append("\\" + char)  # e.g. a literal - at either end, as in [a-z_-]
        elif char in _DOUBLES and char == previous:
            parts.append("\\" + char)
        else:
            parts.append(char)
        previous = char
        index += 1
    return None
