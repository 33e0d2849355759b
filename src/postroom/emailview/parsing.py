"""Reading stored messages as mail clients read them, in time linear in their size.

:func:`outline` reads a raw message once and returns everything a page shows about it
(decoded headers, where the text and HTML bodies are, the attachments and where each lies), as
JSON-ready data to store. Pages then fetch and decode only the slice they show (with
:mod:`postroom.emailview.decoding`, :func:`body_html`, :func:`part_content`). :func:`read` does
it all at once for callers without a stored outline. Nothing here raises on bad input.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from postroom.emailview.decoding import (
    TEXT_LIMIT,
    body_text,
    decode_transfer,
    fetch_limit,
    headers_list,
    parse_date,
    safe_filename,
)
from postroom.emailview.headers import (
    TRUNCATED,
    Field,
    clean,
    header_end,
    parse_fields,
)
from postroom.emailview.mime import Leaf, Span, first, scan

OUTLINE_VERSION = 1
HTML_LIMIT = 5 * 1024 * 1024  # bytes of an HTML body served to its frame
INLINE_IMAGE_LIMIT = 2 * 1024 * 1024  # inline images up to this become data: URIs
INLINE_IMAGES_TOTAL = 10 * 1024 * 1024
SUMMARY_FIELD_LIMIT = 998  # RFC 5322 line length: enough for the list's columns
SHOWN_FIELD_LIMIT = 4000  # characters of From/To/Cc/Subject on the detail page
PREVIEW_LIMIT = 200
ATTACHED_HEADER_LIMIT = 64 * 1024

_CID_REFERENCE = re.compile(r"""cid:([^"'\s)>]+)""", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,2000}>|<[^>]*$")
_SPACES = re.compile(r"\s+")
_BODY_TYPES = ("text/plain", "text/html")

Fetch = Callable[[Sequence[tuple[int, int]]], list[bytes]]  # byte ranges of the raw message


@dataclass(frozen=True)
class Attachment:
    index: int  # position among the message's attachments, stable for a given message
    filename: str  # safe for display and for Content-Disposition
    content_type: str
    size: int  # decoded size
    inline: bool  # referenced from the HTML body (Content-ID) rather than attached
    span: Span = Span(0, 0)
    content_id: str = ""
    subject: str = ""  # of an attached message (message/rfc822)


@dataclass(frozen=True)
class Outline:
    """What the pages show about a message, found in one pass, stored as JSON."""

    ok: bool  # False when no header could be read: the page points to the raw source
    from_header: str = ""
    to_header: str = ""
    cc_header: str = ""
    subject: str = ""
    message_id: str = ""
    date_header: str = ""
    header_end: int = 0  # the header block is raw[:header_end]
    text: Span | None = None
    html: Span | None = None
    attachments: tuple[Attachment, ...] = ()
    preview: str = ""
    blind_copies: tuple[str, ...] = ()  # envelope recipients in no To or Cc header

    @property
    def date(self) -> datetime | None:
        return parse_date(self.date_header)

    @property
    def has_attachments(self) -> bool:
        return any(not item.inline for item in self.attachments)

    def to_json(self) -> dict[str, object]:
        """As ``{"version": ..., **asdict(self)}`` (a test compares them), without asdict's
        deep copy of every value: the catcher makes one for every message it stores."""
        data: dict[str, object] = {"version": OUTLINE_VERSION, **vars(self)}
        data["text"] = _span_json(self.text)
        data["html"] = _span_json(self.html)
        data["attachments"] = tuple(
            {**vars(item), "span": _span_json(item.span)} for item in self.attachments
        )
        data["blind_copies"] = tuple(self.blind_copies)
        return data

    @classmethod
    def from_json(cls, data: object) -> Outline | None:
        """The stored outline, or None when missing or from another version."""
        if not isinstance(data, dict) or data.get("version") != OUTLINE_VERSION:
            return None
        try:
            values = {key: value for key, value in data.items() if key != "version"}
            values["text"] = Span(**values["text"]) if values.get("text") else None
            values["html"] = Span(**values["html"]) if values.get("html") else None
            values["attachments"] = tuple(
                Attachment(**{**item, "span": Span(**item["span"])})
                for item in values.get("attachments", ())
            )
            values["blind_copies"] = tuple(values.get("blind_copies", ()))
            return cls(**values)
        except (KeyError, TypeError, ValueError):
            return None


def _span_json(span: Span | None) -> dict[str, object] | None:
    return None if span is None else dict(vars(span))


@dataclass(frozen=True)
class Summary:
    from_header: str
    to_header: str
    subject: str
    message_id: str
    has_attachments: bool


@dataclass(frozen=True)
class ParsedMessage:
    """What a detail screen shows."""

    ok: bool
    from_header: str
    to_header: str
    cc_header: str
    subject: str
    date: datetime | None
    date_header: str
    text: str | None
    html: str | None
    headers: list[tuple[str, str]]
    attachments: list[Attachment]
    text_truncated: bool = False
    headers_truncated: bool = False


# Reading a message once ---------------------------------------------------------------------


def outline(raw: bytes, recipients: Sequence[str] = ()) -> Outline:
    """Everything the pages need about ``raw``, in one pass linear in its size."""
    raw = bytes(raw)
    structure = scan(raw)
    fields = structure.fields
    named: dict[str, list[Field]] = {}  # by lowercased name, in order: each name read once
    for item in fields:
        named.setdefault(item.name.lower(), []).append(item)

    def value(name: str, limit: int = SHOWN_FIELD_LIMIT) -> str:
        found = named.get(name.lower(), [])
        text = ", ".join(item.value for item in found)
        if len(text) <= limit:
            return text
        size = sum(len(item.data) for item in found)
        return text[:limit] + TRUNCATED.format(max(size - limit, 1))

    text, html, attachments = _sort_leaves(raw, structure.leaves)
    visible = b" ".join(item.data for item in fields if item.name.lower() in ("to", "cc")).lower()
    blind = tuple(r for r in recipients if r.lower().encode("utf-8", "replace") not in visible)
    return Outline(
        ok=bool(fields),
        from_header=value("From"),
        to_header=value("To"),
        cc_header=value("Cc"),
        subject=value("Subject"),
        message_id=value("Message-ID", SUMMARY_FIELD_LIMIT),
        date_header=value("Date", 200),
        header_end=structure.header_end,
        text=text.span if text else None,
        html=html.span if html else None,
        attachments=tuple(attachments),
        preview=_preview(raw, text, html),
        blind_copies=blind,
    )


def summarize(raw: bytes) -> Summary:
    found = outline(raw)
    return Summary(
        from_header=found.from_header[:SUMMARY_FIELD_LIMIT],
        to_header=found.to_header[:SUMMARY_FIELD_LIMIT],
        subject=found.subject[:SUMMARY_FIELD_LIMIT],
        message_id=found.message_id[:SUMMARY_FIELD_LIMIT],
        has_attachments=found.has_attachments,
    )


def _sort_leaves(
    raw: bytes, leaves: list[Leaf]
) -> tuple[Leaf | None, Leaf | None, list[Attachment]]:
    """The text body, the HTML body, and the rest as attachments, as mail clients sort them.

    A part is an attachment when it is declared one, has a file name, or is neither plain text
    nor HTML; of the remaining parts the first plain and the first HTML are the bodies.
    """
    bodies: dict[str, Leaf] = {}
    others: list[Leaf] = []
    for leaf in leaves:
        is_file = leaf.disposition == "attachment" or leaf.filename
        if not is_file and leaf.content_type in _BODY_TYPES and leaf.content_type not in bodies:
            bodies[leaf.content_type] = leaf
        else:
            others.append(leaf)
    attachments = [_attachment(raw, leaf, index) for index, leaf in enumerate(others)]
    return bodies.get("text/plain"), bodies.get("text/html"), attachments


def _attachment(raw: bytes, leaf: Leaf, index: int) -> Attachment:
    is_message = leaf.content_type == "message/rfc822"
    fallback = f"message-{index + 1}.eml" if is_message else f"attachment-{index + 1}"
    return Attachment(
        index=index,
        filename=safe_filename(leaf.filename, fallback),
        content_type=leaf.content_type,
        size=_decoded_size(raw, leaf.span),
        inline=leaf.disposition != "attachment" and bool(leaf.content_id),
        span=leaf.span,
        content_id=leaf.content_id[:500],
        subject=_attached_subject(raw, leaf.span) if is_message else "",
    )


def _decoded_size(raw: bytes, span: Span) -> int:
    if span.encoding == "base64":
        # Counting is slow next to finding: count the newlines, and the rest only if there are
        # any. Lines end alike throughout a part, so CRLF lines have as many CRs as LFs.
        newlines = raw.count(b"\n", span.start, span.end)
        first_line = raw.find(b"\n", span.start, span.end)
        crlf = first_line > span.start and raw[first_line - 1 : first_line] == b"\r"
        spaces = newlines * (2 if crlf else 1)
        for char in (b" ", b"\t") if crlf else (b" ", b"\t", b"\r"):
            if raw.find(char, span.start, span.end) >= 0:
                spaces += raw.count(char, span.start, span.end)
        padding = min(raw[max(span.start, span.end - 8) : span.end].count(b"="), 2)
        return max((span.end - span.start - spaces) * 3 // 4 - padding, 0)
    if span.encoding == "quoted-printable":
        return len(decode_transfer(raw[span.start : span.end], span.encoding))
    return span.end - span.start


def _attached_subject(raw: bytes, span: Span) -> str:
    if span.encoding not in ("", "7bit", "8bit", "binary"):
        return ""
    block_end, _ = header_end(raw, span.start, min(span.end, span.start + ATTACHED_HEADER_LIMIT))
    subject = first(parse_fields(raw[span.start : block_end]), "Subject")
    return subject.value[:SUMMARY_FIELD_LIMIT] if subject else ""


def _preview(raw: bytes, text: Leaf | None, html: Leaf | None) -> str:
    body = text or html
    if body is None:
        return ""
    span = body.span
    content, _ = body_text(span, raw[span.start : min(span.end, span.start + 8 * 1024)], 4000)
    if body is html:
        content = _TAG.sub(" ", content)
    return _SPACES.sub(" ", clean(content))[:PREVIEW_LIMIT]


# Decoding the parts a page shows ------------------------------------------------------------


def inline_image_spans(found: Outline) -> list[Attachment]:
    """The inline images the HTML body may show, within the size limits."""
    images, total = [], 0
    for item in found.attachments:
        fits = item.size <= INLINE_IMAGE_LIMIT and total + item.size <= INLINE_IMAGES_TOTAL
        if item.content_id and item.content_type.startswith("image/") and fits:
            images.append(item)
            total += item.size
    return images


def body_html(found: Outline, fetch: Fetch) -> str | None:
    """The HTML body with ``cid:`` images made data: URIs (the only images its frame allows)."""
    if found.html is None:
        return None
    span = found.html
    images = inline_image_spans(found)
    ranges = [(span.start, min(span.end, span.start + HTML_LIMIT))]
    ranges += [(item.span.start, item.span.end) for item in images]
    data = fetch(ranges)
    html, _ = body_text(span, data[0], HTML_LIMIT)
    pairs = zip(images, data[1:], strict=True)
    by_cid = {item.content_id.lower(): (item, payload) for item, payload in pairs}
    if not by_cid:
        return html

    def replace(match: re.Match[str]) -> str:
        image = by_cid.get(match.group(1).lower())
        if image is None:
            return match.group(0)
        item, payload = image
        encoded = base64.b64encode(decode_transfer(payload, item.span.encoding)).decode("ascii")
        return f"data:{item.content_type};base64,{encoded}"

    return _CID_REFERENCE.sub(replace, html)


def part_content(item: Attachment, data: bytes) -> bytes:
    return decode_transfer(data, item.span.encoding)


# All at once, for callers without a stored outline ------------------------------------------


def read(raw: bytes) -> ParsedMessage:
    raw = bytes(raw)
    found = outline(raw)

    def fetch(ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        return [raw[start:end] for start, end in ranges]

    text, text_cut = (None, False)
    if found.text is not None:
        text, text_cut = body_text(found.text, raw[slice(*fetch_limit(found.text, TEXT_LIMIT))])
    headers, headers_cut = headers_list(raw[: found.header_end])
    return ParsedMessage(
        ok=found.ok,
        from_header=found.from_header,
        to_header=found.to_header,
        cc_header=found.cc_header,
        subject=found.subject,
        date=found.date,
        date_header=found.date_header,
        text=text,
        html=body_html(found, fetch),
        headers=headers,
        attachments=list(found.attachments),
        text_truncated=text_cut,
        headers_truncated=headers_cut,
    )


def attachment_content(raw: bytes, index: int) -> tuple[Attachment, bytes] | None:
    """The attachment at ``index`` (as numbered by :func:`outline`) and its bytes."""
    raw = bytes(raw)
    attachments = outline(raw).attachments
    if not 0 <= index < len(attachments):
        return None
    item = attachments[index]
    return item, part_content(item, raw[item.span.start : item.span.end])
