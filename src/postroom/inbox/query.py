"""The inbox search language, parsed without touching the database.

``shipped order from:shop@example.com "tracking number" has:attachment after:2026-01-31``

- bare words match anywhere (sender, recipients, subject, body), in any order;
- ``"quoted phrases"`` match those words next to each other;
- ``from:``, ``to:`` and ``subject:`` limit a word or quoted phrase to that field;
- ``has:attachment`` and ``is:unread`` / ``is:read`` filter by flag;
- ``before:`` and ``after:`` take a date (YYYY-MM-DD), compared with when the mail was caught.

Anything the parser does not understand becomes ordinary words, so no input is an error. The
parser reads the query once, left to right (linear time), and keeps at most ``MAX_TERMS`` terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

MAX_QUERY_LENGTH = 500
MAX_TERMS = 20
FIELDS = ("from", "to", "subject")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Term:
    """Words that must all appear, in ``field`` (or anywhere when None); adjacent if a phrase.

    An unquoted token that splits into several words (``alice@example.com``) is a phrase too.
    """

    words: tuple[str, ...]
    field: str | None = None
    phrase: bool = False


@dataclass
class Query:
    terms: list[Term] = field(default_factory=list)
    has_attachment: bool = False
    unread: bool | None = None  # True: unread only; False: read only
    before: date | None = None
    after: date | None = None
    ignored: list[str] = field(default_factory=list)  # e.g. a date that could not be read

    @property
    def empty(self) -> bool:
        return (
            not self.terms
            and not self.has_attachment
            and self.unread is None
            and (self.before is None and self.after is None)
        )


def words_of(text: str) -> tuple[str, ...]:
    """The searchable words of ``text``: letters and digits, lower case (``@`` and ``.`` split)."""
    return tuple(word.lower() for word in _WORD.findall(text))


def _tokens(text: str) -> list[tuple[str | None, str, bool]]:
    """(operator or None, value, quoted), reading each character once."""
    tokens: list[tuple[str | None, str, bool]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        operator = None
        while i < n and not text[i].isspace() and text[i] not in ':"':
            i += 1
        if i < n and text[i] == ":" and i > start:
            operator = text[start:i].lower()
            i += 1
        elif i > start:  # a plain word, perhaps with a quote further on: treat it as a word
            while i < n and not text[i].isspace():
                i += 1
            tokens.append((None, text[start:i], False))
            continue
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            tokens.append((operator, text[i + 1 : end], True))
            i = end + 1
            continue
        value_start = i
        while i < n and not text[i].isspace():
            i += 1
        tokens.append((operator, text[value_start:i], False))
    return tokens


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse(text: str) -> Query:
    query = Query()
    for operator, value, quoted in _tokens(text[:MAX_QUERY_LENGTH]):
        lowered = value.lower()
        if operator == "has" and lowered in ("attachment", "attachments"):
            query.has_attachment = True
        elif operator == "is" and lowered in ("unread", "read"):
            query.unread = lowered == "unread"
        elif operator in ("before", "after") and not quoted:
            found = _date(value)
            if found is None:
                query.ignored.append(f"{operator}:{value}")
            elif operator == "before":
                query.before = found
            else:
                query.after = found
        else:
            where = operator if operator in FIELDS else None
            if operator is not None and where is None:
                value = f"{operator} {value}"  # an unknown operator is just more words
            words = words_of(value)
            if words and len(query.terms) < MAX_TERMS:
                query.terms.append(Term(words, where, phrase=len(words) > 1))
    return query
