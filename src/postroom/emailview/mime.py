"""The MIME structure of a raw message, found in one linear pass over its bytes.

Each leaf part is located by byte offsets into the raw message, so a page can later fetch and
decode just the part it shows. Multipart bodies are split by a regex scan for the boundary
lines; nothing is decoded here but header fields. Depth and part count are capped against hostile
nesting, so the work is at most ``MAX_DEPTH`` passes over the bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from postroom.emailview.headers import Field, clean, header_end, parse_fields, split_params

MAX_DEPTH = 12  # real mail nests four or five deep
MAX_PARTS = 500
PART_HEADER_LIMIT = 64 * 1024  # bytes of a part's header block read; a real one is < 2 KB
BOUNDARY_LIMIT = 200  # bytes of a boundary used; RFC 2046 allows 70

_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


@dataclass(frozen=True)
class Span:
    """Where a part's body lies in the raw message, and how to decode it."""

    start: int
    end: int
    encoding: str = ""  # Content-Transfer-Encoding, lowercased
    charset: str = ""


@dataclass(frozen=True)
class Leaf:
    content_type: str  # lowercased; a malformed declared type reads application/octet-stream
    disposition: str  # "attachment", "inline" or ""
    filename: str  # decoded (RFC 2231 / RFC 2047), not yet made safe
    content_id: str
    span: Span


@dataclass
class Structure:
    fields: list[Field]  # the top-level header fields
    header_end: int  # the top-level header block is raw[:header_end]
    leaves: list[Leaf] = field(default_factory=list)


def first(fields: list[Field], name: str) -> Field | None:
    name = name.lower()
    return next((item for item in fields if item.name.lower() == name), None)


def scan(raw: bytes) -> Structure:
    block_end, body_start = header_end(raw)
    structure = Structure(parse_fields(raw[:block_end]), block_end)
    _entity(raw, structure.fields, body_start, len(raw), 0, "text/plain", structure.leaves)
    return structure


def _entity(
    raw: bytes,
    fields: list[Field],
    body_start: int,
    end: int,
    depth: int,
    default_type: str,
    leaves: list[Leaf],
) -> None:
    content_type, params = _content_type(fields, default_type, top_level=depth == 0)
    if content_type.startswith("multipart/") and depth < MAX_DEPTH:
        boundary = params.get("boundary", "")
        children = split_multipart(raw, body_start, end, boundary) if boundary else []
        if children:
            child_type = "message/rfc822" if content_type == "multipart/digest" else "text/plain"
            for start, stop in children:
                if len(leaves) >= MAX_PARTS:
                    return
                block_end, child_body = header_end(raw, start, stop)
                child_fields = parse_fields(raw[start : min(block_end, start + PART_HEADER_LIMIT)])
                _entity(raw, child_fields, child_body, stop, depth + 1, child_type, leaves)
            return
        content_type = "text/plain"  # a multipart without its boundaries: show its body as text
    if len(leaves) < MAX_PARTS:
        leaves.append(_leaf(fields, content_type, params, Span(body_start, end)))


def _content_type(
    fields: list[Field], default_type: str, *, top_level: bool
) -> tuple[str, dict[str, str]]:
    declared = first(fields, "Content-Type")
    if declared is None:
        return default_type, {}
    content_type, params = split_params(declared.raw)
    if not _CONTENT_TYPE.match(content_type):
        # RFC 2045 reads a malformed type as text/plain; mail clients do so only for a whole
        # message, and show a malformed part (application-x-gzip) as a file.
        content_type = "text/plain" if top_level else "application/octet-stream"
    return content_type, params


def _leaf(fields: list[Field], content_type: str, params: dict[str, str], span: Span) -> Leaf:
    declared = first(fields, "Content-Disposition")
    disposition, disposition_params = split_params(declared.raw if declared else "")
    encoding_field = first(fields, "Content-Transfer-Encoding")
    encoding = clean(encoding_field.raw).lower()[:40] if encoding_field else ""
    content_id = first(fields, "Content-ID")
    return Leaf(
        content_type=content_type,
        disposition=disposition if disposition in ("attachment", "inline") else "",
        filename=disposition_params.get("filename") or params.get("name") or "",
        content_id=content_id.value.strip().strip("<>").strip() if content_id else "",
        span=Span(span.start, span.end, encoding, params.get("charset", "")[:40]),
    )


def split_multipart(raw: bytes, start: int, end: int, boundary: str) -> list[tuple[int, int]]:
    """The (start, end) of each body part between ``--boundary`` lines, in order.

    A missing close delimiter ends the last part at ``end``; no delimiter at all gives [].
    ``start`` must be the start of a line.
    """
    parts: list[tuple[int, int]] = []
    part_start = -1
    for line_start, line_end, closing in _delimiter_lines(raw, start, end, boundary):
        if part_start >= 0:
            part_end = line_start - 1 if line_start > start else line_start
            if part_end > part_start and raw[part_end - 1 : part_end] == b"\r":
                part_end -= 1
            parts.append((part_start, max(part_end, part_start)))
        if closing or len(parts) >= MAX_PARTS:
            return parts
        part_start = min(line_end + 1, end)
    if part_start >= 0 and len(parts) < MAX_PARTS:
        parts.append((part_start, end))
    return parts


def _delimiter_lines(
    raw: bytes, start: int, end: int, boundary: str
) -> Iterator[tuple[int, int, bool]]:
    """(start, end, is the close delimiter) of each "--boundary" line (RFC 2046 5.1.1)."""
    token = re.escape(b"--" + boundary.encode("utf-8", errors="replace")[:BOUNDARY_LIMIT])
    rest = rb"(?:(--)[^\n]*|[ \t]*\r?)(?=\n|$)"  # the close mark, or transport padding
    opening = re.compile(token + rest).match(raw, start, end)
    if opening:
        yield opening.start(), opening.end(), bool(opening.group(1))
    # Starting with a literal newline lets the regex engine skip ahead quickly.
    for match in re.compile(rb"\n" + token + rest).finditer(raw, start, end):
        yield match.start() + 1, match.end(), bool(match.group(1))
