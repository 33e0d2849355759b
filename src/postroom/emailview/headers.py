"""Header fields read as mail clients read them, in time linear in their size.

No structured (address) parsing: the stdlib's is superlinear on huge headers, and a list of
addresses reads fine as decoded text. Undeclared 8-bit bytes are UTF-8, else windows-1252;
RFC 2047 encoded words and RFC 2231 parameters are decoded; every value is capped.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

VALUE_LIMIT = 16 * 1024  # characters of one header value decoded and shown; the rest is cut
MAX_FIELDS = 2000  # header fields read; real mail has under a hundred
PARAMS_LIMIT = 8 * 1024  # characters of Content-Type / Content-Disposition read for parameters
TRUNCATED = " … (truncated: {} more bytes in the raw source)"

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")
_PARAM = re.compile(r';\s*([^\s=;]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"?|[^;]*))?')
_SECTION = re.compile(r"^(.+?)\*(\d+)?(\*)?$")
_QUOTED_PAIR = re.compile(r"\\(.)")
_FIELD_START = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")
# A line that is neither a field nor a continuation, the blank line usually. Starting with a
# literal newline lets the regex engine skip ahead quickly.
_OTHER_LINE = re.compile(rb"\n(?![ \t]|[\x21-\x39\x3b-\x7e]+[ \t]*:)")


@dataclass(frozen=True)
class Field:
    name: str
    value: str  # decoded and cleaned; cut at VALUE_LIMIT with a note
    raw: str  # undecoded text (8-bit bytes decoded), cut at PARAMS_LIMIT, for parameters
    data: bytes  # the whole unfolded value as received


def charset_codec(name: str | None) -> str | None:
    """The Python codec for a MIME charset name, or None when unknown."""
    if not name:
        return None
    name = name.strip().strip('"').split("*", 1)[0].lower()
    if name in ("us-ascii", "ascii", "unknown-8bit", "x-unknown"):
        return None  # 8-bit text labelled ASCII is common: guess as for unlabelled text
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def decode_bytes(data: bytes, charset: str | None = None, *, cut: bool = False) -> str:
    """Text in ``charset``; without a known one, UTF-8, falling back to windows-1252.

    ``cut`` says the bytes were cut short, maybe inside the last UTF-8 character.
    """
    codec = charset_codec(charset)
    if codec is not None:
        return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if cut and error.start >= len(data) - 3 and error.reason == "unexpected end of data":
            return data.decode("utf-8", errors="ignore")
    return data.decode("windows-1252", errors="replace")


def clean(value: str) -> str:
    return _CONTROL_CHARS.sub(" ", value).strip()


def decode_words(text: str) -> str:
    """RFC 2047 encoded words decoded; adjacent words in one charset are joined first."""
    if "=?" not in text:  # most values: no encoded word, nothing to split
        return text
    pieces = _ENCODED_WORD.split(text)
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset = ""
    # split() yields: text, charset, encoding, payload, text, charset, ...
    for i in range(0, len(pieces), 4):
        if i > 0:
            charset, encoding, payload = pieces[i - 3], pieces[i - 2], pieces[i - 1]
            if pending and charset.lower() != pending_charset:
                out.append(decode_bytes(b"".join(pending), pending_charset))
                pending = []
            pending.append(_word_bytes(encoding, payload))
            pending_charset = charset.lower()
        between = pieces[i]
        if i + 4 < len(pieces) and i > 0 and not between.strip():
            continue  # whitespace between two encoded words is not part of the text
        if pending:
            out.append(decode_bytes(b"".join(pending), pending_charset))
            pending = []
        out.append(between)
    if pending:
        out.append(decode_bytes(b"".join(pending), pending_charset))
    return "".join(out)


def _word_bytes(encoding: str, payload: str) -> bytes:
    data = payload.encode("ascii", errors="replace")
    if encoding in "bB":
        try:
            return base64.b64decode(data + b"=" * (-len(data) % 4))
        except (binascii.Error, ValueError):
            return data
    return binascii.a2b_qp(data.replace(b"_", b" "))


def decode_value(value: bytes, limit: int = VALUE_LIMIT) -> str:
    """A header value for display: unfolded, decoded and cut at ``limit`` characters."""
    head = decode_bytes(value[: limit + 64], cut=len(value) > limit + 64)
    text = clean(decode_words(head))
    if len(value) > limit + 64 or len(text) > limit:
        return text[:limit] + TRUNCATED.format(max(len(value) - limit, 1))
    return text


def unfold(block: bytes) -> bytes:
    """A header block with folded continuations joined: one line per field."""
    for fold, space in ((b"\r\n ", b" "), (b"\r\n\t", b"\t"), (b"\n ", b" "), (b"\n\t", b"\t")):
        block = block.replace(fold, space)
    return block


def parse_fields(block: bytes, limit: int = MAX_FIELDS) -> list[Field]:
    """The first ``limit`` header fields of ``block`` (the bytes before the blank line)."""
    text = unfold(block)
    fields: list[Field] = []
    position = 0
    while position < len(text) and len(fields) < limit:
        newline = text.find(b"\n", position)
        stop = len(text) if newline < 0 else newline
        key, colon, value = text[position:stop].partition(b":")
        position = stop + 1
        if not colon or key[:1] in (b" ", b"\t"):
            continue
        value = value.removesuffix(b"\r")
        name = decode_bytes(key[:200]).strip()
        raw_value = decode_bytes(value[:PARAMS_LIMIT], cut=len(value) > PARAMS_LIMIT)
        fields.append(Field(name, decode_value(value), raw_value, value))
    return fields


def header_end(raw: bytes, start: int = 0, end: int | None = None) -> tuple[int, int]:
    """Where the header block of the entity at ``raw[start:end]`` ends and its body begins.

    The block ends at the first empty line, or at the first line that is neither a field nor
    a continuation (mail without a blank line after its headers, or with no headers at all).
    ``start`` must be the start of a line.
    """
    end = len(raw) if end is None else end
    if _FIELD_START.match(raw, start, end):
        match = _OTHER_LINE.search(raw, start, end)
        if match is None:
            return end, end
        position = match.start() + 1
    else:
        position = start
    newline = raw.find(b"\n", position, end)
    line_end = end if newline < 0 else newline + 1
    if not raw[position:line_end].strip(b"\r\n"):
        return position, line_end
    return position, position


def split_params(raw_value: str) -> tuple[str, dict[str, str]]:
    """``type/subtype`` (lowercased) and parameters, with RFC 2231 and RFC 2047 decoded."""
    main, _, rest = raw_value.partition(";")
    simple: dict[str, str] = {}
    sections: dict[str, list[tuple[int, bool, str]]] = {}
    for match in _PARAM.finditer(";" + rest):
        key, value = match.group(1).lower(), (match.group(2) or "").strip()
        if value.startswith('"'):
            value = _QUOTED_PAIR.sub(r"\1", value[1:].removesuffix('"'))
        extended = _SECTION.match(key)
        if extended:
            number = int(extended.group(2) or 0)
            sections.setdefault(extended.group(1), []).append(
                (number, bool(extended.group(3)) or extended.group(2) is None, value)
            )
        else:
            simple.setdefault(key, clean(decode_words(value)))
    for key, parts in sections.items():
        simple[key] = _join_sections(parts)
    return clean(main).lower(), simple


def _join_sections(parts: list[tuple[int, bool, str]]) -> str:
    """An RFC 2231 value from its sections: ``charset'language'percent-encoded`` first."""
    parts.sort(key=lambda part: part[0])
    charset = None
    text: list[str] = []
    pending: list[bytes] = []  # encoded sections, joined before decoding: a character may span two
    for position, (_, encoded, value) in enumerate(parts[:100]):
        if encoded and position == 0 and value.count("'") >= 2:
            charset, _, value = value.split("'", 2)
        if encoded:
            pending.append(unquote_to_bytes(value))
            continue
        if pending:
            text.append(decode_bytes(b"".join(pending), charset))
            pending = []
        text.append(value)
    if pending:
        text.append(decode_bytes(b"".join(pending), charset))
    return clean("".join(text))
