"""Check a send request's JSON and turn it into a :class:`Draft`, or list what is wrong.

Every problem names its field by path (``to[1]``, ``attachments[0].content``), so a client can
point at it. Limits keep one request to what one email can reasonably be.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from postroom.applications.models import PROVIDER_HEADERS, single_mailbox

# The largest request body: about 10 MiB of attachments once base64 has grown them by a third.
MAX_BODY_BYTES = 15 * 1024 * 1024
MAX_RECIPIENTS = 100
MAX_HEADERS = 50
MAX_ATTACHMENTS = 50
MAX_METADATA_BYTES = 10_000
MAX_TAG_LENGTH = 100
MAX_SUBJECT_LENGTH = 998
FIELDS = {
    "from", "to", "cc", "bcc", "reply_to", "subject", "text", "html",
    "headers", "attachments", "tag", "metadata",
}  # fmt: skip
# Headers Postroom writes from the fields above or for MIME: a request's headers may not.
RESERVED_HEADERS = {
    "from", "to", "cc", "bcc", "reply-to", "subject", "message-id", "date", "mime-version",
    "content-type", "content-transfer-encoding", "content-disposition", "sender", "received",
    "return-path", "resent-from", "resent-sender",
}  # fmt: skip
_HEADER_NAME = re.compile(r"^[!-9;-~]{1,76}$")  # printable ASCII except the colon
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*$")


@dataclass
class Attachment:
    filename: str
    content: bytes
    content_type: str


@dataclass
class Draft:
    sender: str
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    subject: str = ""
    text: str = ""
    html: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    tag: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


class Invalid(Exception):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__(f"{len(problems)} invalid field(s)")
        self.problems = problems


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append({"field": path, "message": message})


def _one_line(value: str) -> bool:
    return "\r" not in value and "\n" not in value and "\0" not in value


def _address(value: Any, path: str, problems: _Problems) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.add(path, 'Give an email address as a string, e.g. "Ann <ann@example.org>".')
        return None
    if not _one_line(value) or len(value) > 998:
        problems.add(path, "An address is one line of at most 998 characters.")
        return None
    bare = single_mailbox(value)
    if bare is None:
        problems.add(path, f"{value!r} is not one email address; give one per list item.")
        return None
    try:
        validate_email(bare)
    except ValidationError:
        problems.add(path, f"{value!r} is not an email address.")
        return None
    return value.strip()


def _addresses(data: dict, name: str, problems: _Problems) -> list[str]:
    value = data.get(name)
    if value is None:
        return []
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list):
        problems.add(name, "Give one address as a string or several as a list of strings.")
        return []
    found = []
    for index, item in enumerate(values):
        path = name if isinstance(value, str) else f"{name}[{index}]"
        address = _address(item, path, problems)
        if address:
            found.append(address)
    return found


def _text(data: dict, name: str, problems: _Problems, limit: int | None = None) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.add(name, "Must be a string.")
        return ""
    if limit is not None and (len(value) > limit or not _one_line(value)):
        problems.add(name, f"Must be one line of at most {limit} characters.")
        return ""
    return value


def _headers(data: dict, problems: _Problems) -> dict[str, str]:
    value = data.get("headers")
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_HEADERS:
        problems.add("headers", f"Give an object of at most {MAX_HEADERS} name: value pairs.")
        return {}
    headers = {}
    for name, text in value.items():
        path = f"headers.{name}"
        if not _HEADER_NAME.match(name):
            problems.add(path, "A header name is printable ASCII without spaces or colons.")
        elif name.lower() in RESERVED_HEADERS:
            problems.add(path, f"{name} is set from the message's own fields; use those.")
        elif name.lower() in PROVIDER_HEADERS:
            problems.add(path, f"{name} is set by Postroom for its provider; use tag/metadata.")
        elif not isinstance(text, str) or not _one_line(text) or len(text) > 998:
            problems.add(path, "A header value is one line of at most 998 characters.")
        else:
            headers[name] = text
    return headers


def _attachments(data: dict, problems: _Problems) -> list[Attachment]:
    value = data.get("attachments")
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_ATTACHMENTS:
        problems.add("attachments", f"Give a list of at most {MAX_ATTACHMENTS} attachments.")
        return []
    found = []
    for index, item in enumerate(value):
        path = f"attachments[{index}]"
        if not isinstance(item, dict):
            problems.add(path, 'Give {"filename", "content" (base64), "content_type"}.')
            continue
        unknown = set(item) - {"filename", "content", "content_type"}
        for name in sorted(unknown):
            problems.add(f"{path}.{name}", "Unknown field.")
        filename = item.get("filename")
        if not isinstance(filename, str) or not filename.strip() or not _one_line(filename):
            problems.add(f"{path}.filename", "Give the file's name, one line.")
            filename = None
        content_type = item.get("content_type", "application/octet-stream")
        if not isinstance(content_type, str) or not _CONTENT_TYPE.match(content_type):
            problems.add(f"{path}.content_type", "Give a MIME type such as application/pdf.")
            content_type = None
        try:
            content = base64.b64decode(item.get("content"), validate=True)
        except (binascii.Error, TypeError, ValueError):
            problems.add(f"{path}.content", "Give the file's bytes in base64.")
            content = None
        if filename and content_type and content is not None:
            found.append(Attachment(filename.strip(), content, content_type))
    return found


def _metadata(data: dict, problems: _Problems) -> dict[str, Any]:
    value = data.get("metadata")
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add("metadata", "Give an object of names and values.")
        return {}
    for name, item in value.items():
        if not isinstance(item, str | int | float | bool) and item is not None:
            problems.add(f"metadata.{name}", "A value is a string, number, true/false or null.")
    if len(json.dumps(value)) > MAX_METADATA_BYTES:
        problems.add("metadata", f"At most {MAX_METADATA_BYTES} bytes of JSON.")
    return value


def _unencodable(value: Any, path: str, problems: _Problems, depth: int = 0) -> None:
    """Strings that UTF-8 cannot carry (JSON may hold lone surrogates such as "\\ud800")."""
    if depth > 3:
        return
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            problems.add(path, "Holds a character UTF-8 cannot encode (a lone surrogate).")
    elif isinstance(value, dict):
        for name, item in value.items():
            _unencodable(name, f"{path}.{name}".lstrip("."), problems, depth + 1)
            _unencodable(item, f"{path}.{name}".lstrip("."), problems, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value[: MAX_ATTACHMENTS + MAX_RECIPIENTS]):
            _unencodable(item, f"{path}[{index}]", problems, depth + 1)


def parse_draft(data: Any) -> Draft:
    """The request's message, or :class:`Invalid` with every problem found."""
    if not isinstance(data, dict):
        raise Invalid([{"field": "", "message": "The body must be a JSON object."}])
    problems = _Problems()
    _unencodable(data, "", problems)
    if problems.items:
        raise Invalid(problems.items)
    for name in sorted(set(data) - FIELDS):
        problems.add(name, "Unknown field.")
    sender = _address(data.get("from"), "from", problems) if "from" in data else None
    if "from" not in data:
        problems.add("from", "Required: the sender's address.")
    draft = Draft(sender=sender or "")
    draft.to = _addresses(data, "to", problems)
    draft.cc = _addresses(data, "cc", problems)
    draft.bcc = _addresses(data, "bcc", problems)
    draft.reply_to = _addresses(data, "reply_to", problems)
    count = len(draft.to) + len(draft.cc) + len(draft.bcc)
    if count == 0 and not any(p["field"].startswith(("to", "cc", "bcc")) for p in problems.items):
        problems.add("to", "Give at least one recipient in to, cc or bcc.")
    if count > MAX_RECIPIENTS:
        problems.add("to", f"At most {MAX_RECIPIENTS} recipients in to, cc and bcc together.")
    draft.subject = _text(data, "subject", problems, MAX_SUBJECT_LENGTH)
    draft.text = _text(data, "text", problems)
    draft.html = _text(data, "html", problems)
    if not draft.text and not draft.html and "text" not in data and "html" not in data:
        problems.add("text", "Give a text or an html body (or both).")
    draft.headers = _headers(data, problems)
    draft.attachments = _attachments(data, problems)
    draft.tag = _text(data, "tag", problems, MAX_TAG_LENGTH)
    draft.metadata = _metadata(data, problems)
    if problems.items:
        raise Invalid(problems.items)
    return draft
