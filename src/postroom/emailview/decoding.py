"""Decoding slices of a stored message: bodies, header blocks, file names and dates.

Each function takes only the bytes it decodes, so a page can fetch just the slice it shows.
"""

from __future__ import annotations

import binascii
import re
from datetime import datetime
from email.utils import parsedate_to_datetime

from postroom.emailview.headers import PARAMS_LIMIT, decode_bytes, parse_fields
from postroom.emailview.mime import Span

TEXT_LIMIT = 256 * 1024  # characters of a text body shown; the .eml download has it all
HEADERS_LIMIT = 256 * 1024  # bytes of the header block listed on the Headers tab

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]+")


def decode_transfer(data: bytes, encoding: str) -> bytes:
    """A body's bytes with its Content-Transfer-Encoding undone; broken input decodes partly."""
    if encoding == "base64":
        try:
            return binascii.a2b_base64(data)
        except (binascii.Error, ValueError):
            letters = _NOT_BASE64.sub(b"", data)
            letters = letters[: len(letters) - len(letters) % 4]
            try:
                return binascii.a2b_base64(letters)
            except (binascii.Error, ValueError):
                return b""
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    return data


def fetch_limit(span: Span, characters: int) -> tuple[int, int]:
    """The byte range of ``span`` enough to show its first ``characters``."""
    budget = characters * 4 + 16 if span.encoding else characters * 4
    return span.start, min(span.end, span.start + budget)


def body_text(span: Span, data: bytes, limit: int = TEXT_LIMIT) -> tuple[str, bool]:
    """The text of a body from (the start of) its bytes, and whether it was cut."""
    partial = len(data) < span.end - span.start
    text = decode_bytes(decode_transfer(data, span.encoding), span.charset, cut=partial)
    return text[:limit], partial or len(text) > limit


def headers_list(block: bytes) -> tuple[list[tuple[str, str]], bool]:
    """The header fields of ``block`` as (name, decoded value), and whether any were cut."""
    limited = block[:HEADERS_LIMIT]
    if len(block) > HEADERS_LIMIT:
        limited = limited[: limited.rfind(b"\n") + 1]  # no field cut in the middle
    fields = [(item.name, item.value) for item in parse_fields(limited)]
    return fields, len(block) > HEADERS_LIMIT


def parse_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value[:200])
    except Exception:  # the stdlib raises several kinds on nonsense dates
        return None


def safe_filename(name: str, fallback: str) -> str:
    """A file name with no path, control characters or quotes; ``fallback`` when empty."""
    name = _CONTROL_CHARS.sub("", (name or "")[:PARAMS_LIMIT])
    name = re.split(r"[\\/]", name)[-1]
    name = name.replace('"', "'").strip().lstrip(".")
    return name[:200] or fallback
