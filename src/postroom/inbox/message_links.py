"""The links of a message: every href and src of its HTML, and every URL of its text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_LINKS = 500  # a message with more lists the first ones
_TEXT_URL = re.compile(r"""https?://[^\s<>"'\])]+""", re.IGNORECASE)
_TRAILING = ".,;:!?"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("href", "src") and len(self.found) < MAX_LINKS:
                self.found.append((value.strip(), "image" if tag == "img" else "link"))


def links(text: str | None, html: str | None) -> list[dict[str, str]]:
    """Each URL once, in order of appearance, with where it was found and its kind."""
    seen: set[str] = set()
    result: list[dict[str, str]] = []

    def add(url: str, kind: str, where: str) -> None:
        if url and url not in seen and not url.lower().startswith(("cid:", "data:", "#")):
            seen.add(url)
            result.append({"url": url, "kind": kind, "found_in": where})

    if html:
        collector = _Collector()
        collector.feed(html)
        collector.close()
        for url, kind in collector.found:
            add(url, kind, "html")
    for match in _TEXT_URL.finditer(text or ""):
        add(match.group(0).rstrip(_TRAILING), "link", "text")
    return result[:MAX_LINKS]
