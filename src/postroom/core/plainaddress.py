"""Plain addresses: ``someone@example.net``, a dot-atom local part at a domain of letters,
digits and hyphens (RFC 5321 section 4.1.2), as nearly every client and header writes them.

The email package's address parsers take such an address as it is, at a hundred times the
cost of one regular expression; code that reads addresses for every message looks for a plain
one first and leaves every other form (quoted local parts, address literals, comments, names)
to those parsers. Tests check that both give the same answer.
"""

from __future__ import annotations

import re

ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
LOCAL_PART = rf"{ATEXT}(?:\.{ATEXT})*"
DOMAIN = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
PLAIN_ADDRESS = re.compile(rf"{LOCAL_PART}@{DOMAIN}")
# The same in angle brackets, as a path in MAIL FROM or RCPT TO; group 1 is the local part.
PLAIN_PATH = re.compile(rf"<({LOCAL_PART})@{DOMAIN}>")


def is_plain(text: str) -> bool:
    """Whether ``text`` is exactly one plain address, with nothing around it."""
    return PLAIN_ADDRESS.fullmatch(text) is not None


def plain_address(text: str) -> str | None:
    """The address when ``text`` is exactly one plain address, bare or in angle brackets."""
    if PLAIN_PATH.fullmatch(text):
        return text[1:-1]
    return text if is_plain(text) else None
