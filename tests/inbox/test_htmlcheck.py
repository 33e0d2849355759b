"""The HTML checks: what mail clients strip or break, each with a one-line explanation."""

from __future__ import annotations

import time

from postroom.inbox.htmlcheck import EXPLANATIONS, GMAIL_CLIP_BYTES, check_html, links


def _ids(html: str | None, has_text: bool = True) -> dict[str, int]:
    return {finding.id: finding.count for finding in check_html(html, has_text=has_text)}


def test_a_plain_table_layout_has_no_findings() -> None:
    html = (
        "<html><head><style>td { color: red }</style></head><body>"
        '<table><tr><td style="padding: 8px">Hi <img src="a.png" alt="Logo"></td></tr></table>'
        "</body></html>"
    )
    assert _ids(html) == {}


def test_each_thing_clients_strip_is_found_and_counted() -> None:
    html = (
        '<html><head><link rel="stylesheet" href="https://x.test/a.css"></head><body>'
        "<script>alert(1)</script><script src=x.js></script>"
        '<form action="/go"><input name="q"></form>'
        "<style>.a { display: flex } .b { position: absolute }</style>"
        '<svg width="10"></svg>'
        '<div style="background-image: url(bg.png); display:grid">x</div>'
        '<td background="bg.gif">y</td>'
        '<p style="position:fixed">z</p>'
        '<img src="a.png"><img src="b.png" alt="">'
        "</body></html>"
    )
    assert _ids(html) == {
        "script": 2,
        "form": 1,
        "style-in-body": 1,
        "external-css": 1,
        "svg": 1,
        "background-image": 2,
        "position": 2,
        "flexbox-grid": 2,
        "image-without-alt": 1,  # alt="" is right for a decorative image
    }


def test_style_in_the_head_is_fine_but_not_in_the_body() -> None:
    assert "style-in-body" not in _ids("<head><style>p{}</style></head><body>x</body>")
    assert _ids("<body><style>p{}</style></body>") == {"style-in-body": 1}


def test_a_word_like_position_in_text_is_not_css() -> None:
    assert _ids("<p>Your position: absolute winner. display: flex</p>") == {}
    assert _ids('<p style="background-position: 0 0; text-position: relative">x</p>') == {}


def test_missing_text_part_and_gmail_clipping() -> None:
    assert _ids("<p>x</p>", has_text=False) == {"no-text-part": 1}
    big = "<p>" + "a" * GMAIL_CLIP_BYTES + "</p>"
    assert _ids(big) == {"clipped": 1}
    assert _ids("<p>" + "a" * (GMAIL_CLIP_BYTES - 10) + "</p>") == {}
    sized = check_html("<p>start</p>", has_text=True, html_bytes=GMAIL_CLIP_BYTES + 1)
    assert [finding.id for finding in sized] == ["clipped"]


def test_a_text_only_message_has_no_html_findings() -> None:
    assert check_html(None, has_text=True) == []


def test_every_finding_carries_a_one_line_explanation() -> None:
    for finding_id, (title, why) in EXPLANATIONS.items():
        assert title and why and "\n" not in why and len(why) < 120, finding_id
    (finding,) = check_html("<script></script>", has_text=True)
    assert finding.title == "Script" and "remove" in finding.explanation


def test_links_and_images_from_html_and_text_each_once() -> None:
    html = (
        '<a href="https://a.test/x">A</a><a href="https://a.test/x">again</a>'
        '<img src="https://img.test/logo.png" alt="">'
        '<a href="mailto:me@example.com">mail</a><a>no href</a>'
    )
    text = "See https://a.test/x, and (https://b.test/path?q=1). Done."
    found = [(link.url, link.kind, link.where) for link in links(html, text)]
    assert found == [
        ("https://a.test/x", "link", "HTML"),
        ("https://img.test/logo.png", "image", "HTML"),
        ("mailto:me@example.com", "link", "HTML"),
        ("https://b.test/path?q=1", "link", "text"),
    ]


def test_parsing_is_linear_in_the_input() -> None:
    # Deeply nested, attribute-heavy, unclosed: a regex-based checker would backtrack here.
    hostile = '<div style="position:' + " " * 50_000 + '">' + "<b a=" * 50_000
    start = time.perf_counter()
    check_html(hostile, has_text=True)
    links(hostile, "http://" + "a" * 100_000)
    check_html(("<b a=" * 3000 + ">") * 40 + '<a b="' * 20_000, has_text=True)
    assert time.perf_counter() - start < 2.0
