"""Reading messages: bodies, attachments, encoded headers, and hostile or broken input."""

from __future__ import annotations

import base64
from email.message import EmailMessage

import pytest

from emails import make_email
from postroom.emailview import parsing

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def _with_attachments() -> bytes:
    message = make_email(text="See attached", html="<p>See <b>attached</b></p>")
    message.add_attachment(
        b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="report.pdf"
    )
    message.add_attachment("a,b\n1,2\n", subtype="csv", filename="../../etc/data.csv")
    return message.as_bytes()


def test_alternative_text_and_html() -> None:
    raw = make_email(text="Hello text", html="<h1>Hello html</h1>").as_bytes()
    parsed = parsing.read(raw)
    assert parsed.ok
    assert parsed.text.strip() == "Hello text"
    assert parsed.html.strip() == "<h1>Hello html</h1>"
    assert parsed.attachments == []
    assert not parsing.summarize(raw).has_attachments


def test_attachments_are_listed_and_readable() -> None:
    raw = _with_attachments()
    parsed = parsing.read(raw)
    assert parsed.text.strip() == "See attached"
    assert [(a.filename, a.content_type, a.inline) for a in parsed.attachments] == [
        ("report.pdf", "application/pdf", False),
        ("data.csv", "text/csv", False),
    ]
    assert parsed.attachments[0].size == len(b"%PDF-1.4 fake")
    info, content = parsing.attachment_content(raw, 0)
    assert (info.filename, content) == ("report.pdf", b"%PDF-1.4 fake")
    assert parsing.attachment_content(raw, 1)[1] == b"a,b\n1,2\n"
    assert parsing.attachment_content(raw, 2) is None
    assert parsing.attachment_content(raw, -1) is None
    assert parsing.summarize(raw).has_attachments


def test_inline_images_become_data_uris_and_are_not_counted_as_attachments() -> None:
    message = make_email(html='<img src="cid:logo@example.com" alt="logo">')
    html_part = message.get_payload()[1]
    html_part.add_related(PNG, maintype="image", subtype="png", cid="<logo@example.com>")
    raw = message.as_bytes()
    parsed = parsing.read(raw)
    assert 'src="data:image/png;base64,' in parsed.html
    assert [a.inline for a in parsed.attachments] == [True]
    assert not parsing.summarize(raw).has_attachments


def test_attached_message_is_one_attachment() -> None:
    inner = make_email(subject="Forwarded", text="inner body")
    outer = make_email(text="outer body")
    outer.add_attachment(inner)
    parsed = parsing.read(outer.as_bytes())
    assert parsed.text.strip() == "outer body"
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("message-1.eml", "message/rfc822")
    ]
    _, content = parsing.attachment_content(outer.as_bytes(), 0)
    assert b"Subject: Forwarded" in content


def test_rfc2047_headers_are_decoded() -> None:
    raw = (
        b"From: =?utf-8?q?J=C3=BCrgen?= <j@example.com>\r\n"
        b"To: =?iso-8859-1?q?Ren=E9?= <r@example.com>\r\n"
        b"Subject: =?utf-8?b?SGVsbG8g8J+RiyB3w7ZybGQ=?=\r\n"
        b"\r\nbody\r\n"
    )
    summary = parsing.summarize(raw)
    assert summary.subject == "Hello 👋 wörld"
    assert summary.from_header == "Jürgen <j@example.com>"
    assert summary.to_header == "René <r@example.com>"


def test_headers_list_keeps_order_unfolds_and_decodes() -> None:
    raw = (
        b"X-B: 2\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n continued\r\n"
        b'Content-Type: text/plain;\r\n charset="utf-8"\r\nX-A: 1\r\n\r\nbody'
    )
    assert parsing.read(raw).headers == [
        ("X-B", "2"),
        ("Subject", "café continued"),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("X-A", "1"),
    ]


def test_unknown_charset_and_broken_base64_fall_back() -> None:
    raw = (
        b"Subject: odd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: text/plain; charset="x-nonexistent"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"SGVsbG8@@@not base64!!\r\n"
    )
    parsed = parsing.read(raw)
    assert parsed.ok
    assert isinstance(parsed.text, str)


def test_latin1_body_without_charset_label() -> None:
    raw = b"Subject: x\r\nContent-Type: text/plain\r\n\r\ncaf\xe9\r\n"
    assert "caf" in parsing.read(raw).text


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage \x80\x81",
        b"no headers at all, just text",
        b"From: <<<@@@>>>\r\nTo: ,,,;;;\r\nSubject: =?utf-8?q?=FF=FE?=\r\n\r\n",
        b"Date: not a date\r\nMessage-ID: <<>>\r\n\r\n",
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n',
        b"Content-Type: multipart/mixed\r\n\r\nno boundary parameter",
        b'Content-Type: image/png; name="\x01evil\\..\\x.png"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!",
        b"Subject: " + b"a" * 100_000 + b"\r\n\r\nlong header",
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        + b'--b\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' * 200,
    ],
)
def test_malformed_messages_never_raise(raw: bytes) -> None:
    parsed = parsing.read(raw)
    summary = parsing.summarize(raw)
    assert isinstance(summary.subject, str) and len(summary.subject) <= 998
    for item in parsed.attachments:
        assert "/" not in item.filename and "\\" not in item.filename
    if parsed.attachments:
        assert parsing.attachment_content(raw, 0) is not None


def test_safe_filename() -> None:
    assert parsing.safe_filename("../../etc/passwd", "x") == "passwd"
    assert parsing.safe_filename('C:\\temp\\a"b.txt', "x") == "a'b.txt"
    assert parsing.safe_filename("\x00\x1f", "fallback") == "fallback"
    assert parsing.safe_filename("...", "fallback") == "fallback"


def test_non_multipart_attachment_only_message() -> None:
    message = EmailMessage()
    message["Subject"] = "Just a file"
    message.set_content(
        b"binary", maintype="application", subtype="octet-stream", filename="blob.bin"
    )
    parsed = parsing.read(message.as_bytes())
    assert parsed.text is None and parsed.html is None
    assert [a.filename for a in parsed.attachments] == ["blob.bin"]
