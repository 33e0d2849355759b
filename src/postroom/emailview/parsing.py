"""Reading caught messages with the stdlib ``email`` package.

Everything here takes raw RFC 5322 bytes and never raises on bad input: a part that cannot
be decoded is shown as best we can, and a message that cannot be parsed at all still has
its raw source.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

# Inline images are turned into data: URIs up to this size; bigger ones stay broken.
INLINE_IMAGE_LIMIT = 2 * 1024 * 1024
MAX_DEPTH = 50
MAX_PARTS = 500
SUMMARY_FIELD_LIMIT = 998  # RFC 5322 line length: enough for any sane header

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")
_CID_REFERENCE = re.compile(r"""cid:([^"'\s)>]+)""", re.IGNORECASE)
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


@dataclass(frozen=True)
class Summary:
    from_header: str
    to_header: str
    subject: str
    message_id: str
    has_attachments: bool


@dataclass(frozen=True)
class Attachment:
    index: int  # position among the message's attachments, stable for a given message
    filename: str  # safe for display and for Content-Disposition
    content_type: str
    size: int
    inline: bool  # referenced from the HTML body (Content-ID) rather than attached


@dataclass(frozen=True)
class ParsedMessage:
    """What the detail screen shows."""

    ok: bool  # False when the message could not be parsed at all: show the raw source
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


def parse(raw: bytes) -> EmailMessage | None:
    try:
        message = BytesParser(policy=policy.default).parsebytes(bytes(raw))
    except Exception:
        return None
    return message if isinstance(message, EmailMessage) else None


def header(message: Message | None, name: str) -> str:
    """A header's decoded value (RFC 2047), or its raw text when it will not decode."""
    if message is None:
        return ""
    try:
        values = message.get_all(name) or []
        return _clean(", ".join(str(value) for value in values))
    except Exception:
        return _clean(", ".join(_raw_header_values(message, name)))


def _raw_header_values(message: Message, name: str) -> list[str]:
    try:
        return [str(value) for key, value in message.raw_items() if key.lower() == name.lower()]
    except Exception:
        return []


def _clean(value: str) -> str:
    return _CONTROL_CHARS.sub(" ", value).strip()


def summarize(raw: bytes) -> Summary:
    message = parse(raw)
    return Summary(
        from_header=header(message, "From")[:SUMMARY_FIELD_LIMIT],
        to_header=header(message, "To")[:SUMMARY_FIELD_LIMIT],
        subject=header(message, "Subject")[:SUMMARY_FIELD_LIMIT],
        message_id=header(message, "Message-ID")[:SUMMARY_FIELD_LIMIT],
        has_attachments=any(not part.inline for part in list_attachments(message)),
    )


def read(raw: bytes) -> ParsedMessage:
    message = parse(raw)
    html_part = _body_part(message, "html")
    html = _part_text(html_part) if html_part is not None else None
    if html is not None and message is not None:
        html = _inline_cid_images(html, message)
    text_part = _body_part(message, "plain")
    date_header = header(message, "Date")
    return ParsedMessage(
        ok=message is not None,
        from_header=header(message, "From"),
        to_header=header(message, "To"),
        cc_header=header(message, "Cc"),
        subject=header(message, "Subject"),
        date=_parse_date(date_header),
        date_header=date_header,
        text=_part_text(text_part) if text_part is not None else None,
        html=html,
        headers=list_headers(message),
        attachments=list_attachments(message),
    )


def list_headers(message: Message | None) -> list[tuple[str, str]]:
    if message is None:
        return []
    try:
        items = message.raw_items()
    except Exception:
        return []
    result = []
    for name, value in items:
        try:
            decoded = str(message.policy.header_fetch_parse(name, value))
        except Exception:
            decoded = str(value)
        result.append((str(name), _clean(decoded)))
    return result


def _parse_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except Exception:
        return None


def _body_part(message: EmailMessage | None, subtype: str) -> Message | None:
    if message is None:
        return None
    try:
        return message.get_body(preferencelist=(subtype,))
    except Exception:
        return None


def _part_text(part: Message) -> str:
    content = _quietly(part.get_content) if isinstance(part, EmailMessage) else None
    if isinstance(content, str):
        return content
    payload = _part_bytes(part)
    charset = _charset(part)
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def _charset(part: Message) -> str:
    try:
        return part.get_content_charset() or "utf-8"
    except Exception:
        return "utf-8"


def _part_bytes(part: Message) -> bytes:
    """The decoded payload (base64, quoted-printable), or the undecoded text."""
    payload = _quietly(part.get_payload, decode=True)
    if isinstance(payload, bytes):
        return payload
    payload = _quietly(part.get_payload)
    if isinstance(payload, str):
        return payload.encode("utf-8", errors="surrogateescape")
    return b""


def _quietly(function: Callable[..., object], *args: object, **kwargs: object) -> object:
    """``function(...)``, or None when it fails: the stdlib raises many kinds on bad input."""
    try:
        return function(*args, **kwargs)
    except Exception:
        return None


def _leaf_parts(message: Message) -> list[Message]:
    """Parts in message order; an attached message/rfc822 counts as one part."""
    leaves: list[Message] = []

    def visit(part: Message, depth: int) -> None:
        # A hostile message can nest multiparts deeply or hold thousands of empty parts.
        if depth > MAX_DEPTH or len(leaves) >= MAX_PARTS:
            return
        try:
            if _content_type(part) == "message/rfc822" or not part.is_multipart():
                leaves.append(part)
                return
            children = part.get_payload()
        except Exception:
            return
        if isinstance(children, list):
            for child in children:
                visit(child, depth + 1)

    visit(message, 0)
    return leaves


def _attachment_parts(message: EmailMessage | None) -> list[Message]:
    """Leaf parts other than the text and HTML bodies, in message order."""
    if message is None:
        return []
    bodies = [_body_part(message, "plain"), _body_part(message, "html")]
    return [part for part in _leaf_parts(message) if not any(part is body for body in bodies)]


def _content_type(part: Message) -> str:
    try:
        value = part.get_content_type().lower()
    except Exception:
        return "application/octet-stream"
    return value if _CONTENT_TYPE.match(value) else "application/octet-stream"


def _is_inline(part: Message) -> bool:
    try:
        disposition = part.get_content_disposition()
        return disposition != "attachment" and bool(part.get("Content-ID"))
    except Exception:
        return False


def safe_filename(name: str, fallback: str) -> str:
    """A file name with no path, control characters or quotes; ``fallback`` when empty."""
    name = _CONTROL_CHARS.sub("", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = name.replace('"', "'").strip().lstrip(".")
    return name[:200] or fallback


def _filename(part: Message, index: int) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if not name and _content_type(part) == "message/rfc822":
        name = f"message-{index + 1}.eml"
    return safe_filename(str(name), f"attachment-{index + 1}")


def _attachment_payload(part: Message) -> bytes:
    if _content_type(part) == "message/rfc822":
        try:
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                return inner[0].as_bytes(policy=policy.default)
        except Exception:
            return b""
    return _part_bytes(part)


def list_attachments(message: EmailMessage | None) -> list[Attachment]:
    return [
        Attachment(
            index=index,
            filename=_filename(part, index),
            content_type=_content_type(part),
            size=len(_attachment_payload(part)),
            inline=_is_inline(part),
        )
        for index, part in enumerate(_attachment_parts(message))
    ]


def attachment_content(raw: bytes, index: int) -> tuple[Attachment, bytes] | None:
    """The attachment at ``index`` (as numbered by :func:`list_attachments`) and its bytes."""
    message = parse(raw)
    parts = _attachment_parts(message)
    if not 0 <= index < len(parts):
        return None
    part = parts[index]
    payload = _attachment_payload(part)
    info = Attachment(
        index=index,
        filename=_filename(part, index),
        content_type=_content_type(part),
        size=len(payload),
        inline=_is_inline(part),
    )
    return info, payload


def _inline_cid_images(html: str, message: EmailMessage) -> str:
    """Replace ``cid:`` references with data: URIs, the only images the HTML view allows."""
    by_cid: dict[str, Message] = {}
    for part in _attachment_parts(message):
        content_id = str(part.get("Content-ID", "") or "").strip().strip("<>")
        if content_id and _content_type(part).startswith("image/"):
            by_cid[content_id.lower()] = part

    def replace(match: re.Match[str]) -> str:
        part = by_cid.get(match.group(1).lower())
        if part is None:
            return match.group(0)
        payload = _part_bytes(part)
        if len(payload) > INLINE_IMAGE_LIMIT:
            return match.group(0)
        encoded = base64.b64encode(payload).decode("ascii")
        return f"data:{_content_type(part)};base64,{encoded}"

    if not by_cid:
        return html
    try:
        return _CID_REFERENCE.sub(replace, html)
    except Exception:
        return html
