"""What common mail clients strip or break in a message's HTML, and the links in it.

Pure functions over strings: one pass of ``html.parser`` (linear in the input), no I/O.
Each finding has a stable id, the number of places it occurs, and one line saying why it
matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

# Gmail shows "[Message clipped]" and hides the rest of an HTML body past about 102 KB.
GMAIL_CLIP_BYTES = 102 * 1024
MAX_LINKS = 1000  # listed per message; far more than any real email holds
URL_MAX_CHARS = 2000
MAX_TAG_CHARS = 16 * 1024  # a longer "tag" is taken as text

EXPLANATIONS: dict[str, tuple[str, str]] = {
    # id: (title, one-line explanation)
    "script": ("Script", "Every mail client removes scripts; nothing in them will run."),
    "form": ("Form", "Gmail, Outlook and Apple Mail disable or strip forms; link to a web page."),
    "style-in-body": (
        "<style> in the body",
        "Some clients (older Gmail apps, Outlook.com) drop <style> outside <head>.",
    ),
    "external-css": (
        "External stylesheet",
        "Mail clients do not load <link rel=stylesheet>; inline the CSS instead.",
    ),
    "svg": ("SVG", "Gmail and Outlook do not show SVG; use PNG or JPEG images."),
    "background-image": (
        "Background image",
        "Outlook on Windows and several webmail clients ignore CSS background images.",
    ),
    "position": (
        "CSS position",
        "Gmail and Outlook remove position (absolute, fixed, relative); the layout collapses.",
    ),
    "flexbox-grid": (
        "Flexbox or grid",
        "Outlook on Windows and many Gmail views do not support display:flex or grid; use tables.",
    ),
    "image-without-alt": (
        "Image without alt",
        "With images blocked (the default in many clients) a missing alt leaves a blank box.",
    ),
    "no-text-part": (
        "No plain-text part",
        "Text-only clients show nothing, and spam filters score HTML-only mail worse.",
    ),
    "clipped": (
        "HTML over 102 KB",
        "Gmail clips HTML bigger than 102 KB and hides the rest behind “View entire message”.",
    ),
}

_POSITION = re.compile(r"(?<![\w-])position\s*:\s*(absolute|fixed|relative|sticky)", re.I)
_FLEX_GRID = re.compile(r"(?<![\w-])display\s*:\s*(inline-)?(flex|grid)\b", re.I)
_BACKGROUND = re.compile(r"(?<![\w-])background(-image)?\s*:[^;]*url\s*\(", re.I)
_URL_IN_TEXT = re.compile(r"""https?://[^\s<>"'\]\[)]+""", re.I)
_TRAILING = ".,;:!?'\""


@dataclass(frozen=True)
class Finding:
    id: str
    count: int

    @property
    def title(self) -> str:
        return EXPLANATIONS[self.id][0]

    @property
    def explanation(self) -> str:
        return EXPLANATIONS[self.id][1]


@dataclass(frozen=True)
class Link:
    url: str
    kind: str  # "link" or "image"
    where: str  # "HTML" or "text"


class _Tag(HTMLParser):
    """Reads the name and attributes of one bounded tag (entities in values decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: tuple[str, dict[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found = (tag, {name: value or "" for name, value in attrs})

    handle_startendtag = handle_starttag

    def read(self, text: str) -> tuple[str, dict[str, str]] | None:
        self.found = None
        self.feed(text)
        self.reset()  # drop whatever the tag left unfinished
        return self.found


class _Scan:
    """One pass over the HTML: each character is looked at a bounded number of times.

    ``html.parser`` alone rescans the rest of the input at every unfinished tag (quadratic on
    ``<b a=<b a=…``), so tags are cut out here, each up to its first ``>`` and at most
    ``MAX_TAG_CHARS`` long, and only that piece is given to the parser.
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.links: list[tuple[str, str]] = []
        self._in_head = False
        self._tag = _Tag()

    def _add(self, finding: str, count: int = 1) -> None:
        if count:
            self.counts[finding] = self.counts.get(finding, 0) + count

    def _css(self, css: str) -> None:
        self._add("position", len(_POSITION.findall(css)))
        self._add("flexbox-grid", len(_FLEX_GRID.findall(css)))
        self._add("background-image", len(_BACKGROUND.findall(css)))

    def scan(self, html: str) -> None:
        lowered = html.lower()
        size, i = len(html), html.find("<")
        while 0 <= i < size:
            if lowered.startswith("<!--", i):
                end = lowered.find("-->", i + 4)
                i = html.find("<", end + 3) if end >= 0 else -1
                continue
            end = html.find(">", i + 1)
            if end < 0:
                break  # an unfinished tag at the end is text
            piece = html[i : end + 1]
            if len(piece) <= MAX_TAG_CHARS and lowered[i + 1 : i + 2].isalpha():
                found = self._tag.read(piece)
                if found is not None:
                    tag, attributes = found
                    self._start(tag, attributes)
                    if tag in ("script", "style"):  # their content is no HTML: skip to the end tag
                        close = lowered.find(f"</{tag}", end + 1)
                        stop = size if close < 0 else close
                        if tag == "style":
                            self._css(html[end + 1 : stop])
                        end = stop - 1
            elif lowered.startswith("</head", i):
                self._in_head = False
            i = html.find("<", end + 1)

    def _start(self, tag: str, values: dict[str, str]) -> None:
        if tag == "head":
            self._in_head = True
        elif tag == "body":
            self._in_head = False
        elif tag == "script":
            self._add("script")
        elif tag == "form":
            self._add("form")
        elif tag == "svg":
            self._add("svg")
        elif tag == "style" and not self._in_head:
            self._add("style-in-body")
        elif tag == "link" and "stylesheet" in values.get("rel", "").lower().split():
            self._add("external-css")
        if "style" in values:
            self._css(values["style"])
        if values.get("background"):
            self._add("background-image")
        if tag == "img":
            if "alt" not in values:
                self._add("image-without-alt")
            self._link(values.get("src", ""), "image")
        elif tag in ("a", "area") and values.get("href"):
            self._link(values["href"], "link")

    def _link(self, url: str, kind: str) -> None:
        url = url.strip()
        if url and len(self.links) < MAX_LINKS:
            self.links.append((url[:URL_MAX_CHARS], kind))


def _scan(html: str) -> _Scan:
    scan = _Scan()
    scan.scan(html)
    return scan


def check_html(html: str | None, *, has_text: bool, html_bytes: int | None = None) -> list[Finding]:
    """Findings for a message whose HTML part is ``html`` (None: no HTML part).

    ``html_bytes``: the part's decoded size, when ``html`` is only its start.
    """
    findings: list[Finding] = []
    if html is not None:
        counts = _scan(html).counts
        findings += [Finding(key, counts[key]) for key in EXPLANATIONS if counts.get(key)]
        size = len(html.encode("utf-8")) if html_bytes is None else html_bytes
        if size > GMAIL_CLIP_BYTES:
            findings.append(Finding("clipped", 1))
        if not has_text:
            findings.append(Finding("no-text-part", 1))
    return findings


def links(html: str | None, text: str | None) -> list[Link]:
    """Every link and image in the HTML, then every web address in the text, each once."""
    found: list[Link] = []
    seen: set[tuple[str, str]] = set()

    def add(url: str, kind: str, where: str) -> None:
        if (url, kind) not in seen and len(found) < MAX_LINKS:
            seen.add((url, kind))
            found.append(Link(url, kind, where))

    if html is not None:
        for url, kind in _scan(html).links:
            add(url, kind, "HTML")
    for match in _URL_IN_TEXT.finditer(text or ""):
        add(match.group(0).rstrip(_TRAILING)[:URL_MAX_CHARS], "link", "text")
    return found


def is_checkable(url: str) -> bool:
    """Only web addresses can be checked: not mailto:, tel:, cid:, data: or #anchors."""
    return url.lower().startswith(("http://", "https://"))
