"""Filling ``{alias}`` placeholders, for plain text, HTML and header values.

One pass over the template: a value that itself contains ``{other}`` is inserted as it is
and never expanded again. An unknown placeholder (its field was removed) becomes empty: a
literal ``{alias}`` never reaches the reader; the caller notes which were left blank.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
ALL_FIELDS = "all_fields"
# Everything that can end a line somewhere (str.splitlines), and the other control characters.
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
HEADER_MAX_CHARS = 250


def header_safe(value: str, limit: int = HEADER_MAX_CHARS) -> str:
    """``value`` on one line: CR, LF and other control characters become one space.

    ``=?`` gets an invisible zero-width space, so that a value such as
    ``=?utf-8?q?=0D=0ABcc:...?=`` stays text instead of being decoded by mail programs
    (RFC 2047) into a line break and a new "header".
    """
    flat = _HEADER_UNSAFE.sub(" ", value).strip().replace("=?", "=\u200b?")
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def render_text(template: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)


def render_header(template: str, values: Mapping[str, str]) -> str:
    """For Subject and Reply-To: filled in, then flattened to one safe line."""
    return header_safe(render_text(header_safe(template, limit=10_000), values))


def render_html(template: str, values: Mapping[str, str], all_fields_html: str) -> str:
    """The plain-text ``template`` as HTML: every piece escaped, line breaks kept.

    ``all_fields_html`` is trusted markup (built by :func:`fields_table_html`).
    """
    parts: list[str] = []
    position = 0
    for match in PLACEHOLDER.finditer(template):
        parts.append(_text_to_html(template[position : match.start()]))
        name = match.group(1)
        if name == ALL_FIELDS:
            parts.append(all_fields_html)
        else:
            parts.append(_text_to_html(values.get(name, "")))
        position = match.end()
    parts.append(_text_to_html(template[position:]))
    return "".join(parts)


def _text_to_html(text: str) -> str:
    return escape(text).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>\n")


def fields_table_text(rows: list[tuple[str, str]]) -> str:
    lines = []
    for label, value in rows:
        if "\n" in value:
            indented = "\n".join(f"  {line}" for line in value.splitlines())
            lines.append(f"{label}:\n{indented}")
        else:
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


def fields_table_html(rows: list[tuple[str, str]]) -> str:
    cells = "".join(
        '<tr><th align="left" valign="top" style="padding:4px 12px 4px 0">'
        f'{escape(label)}</th><td style="padding:4px 0">{_text_to_html(value)}</td></tr>'
        for label, value in rows
    )
    return (
        f'<table cellspacing="0" cellpadding="0" style="border-collapse:collapse">{cells}</table>'
    )


def html_document(body: str) -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8"></head>'
        '<body style="font-family:system-ui,sans-serif;font-size:15px;line-height:1.5">'
        f"{body}</body></html>"
    )
