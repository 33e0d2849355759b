"""The inbox screens: list, search, paging, detail tabs, parts, actions, live updates."""

from __future__ import annotations

import base64
import os
import time

import pytest
from django.test import Client
from django.urls import reverse

from emails import make_email
from postroom.emailview import mime, parsing
from postroom.inbox import views as inbox_views
from postroom.inbox.models import CaughtMessage

from .conftest import store

HTML_FRAME_CSP = (
    "sandbox allow-same-origin; default-src 'none'; script-src 'none'; img-src data: cid:;"
    " style-src 'unsafe-inline'"
)

pytestmark = pytest.mark.django_db


def _with_attachment() -> bytes:
    message = make_email("With file", text="Text body", html="<p>HTML <b>body</b></p>")
    message.add_attachment(
        b"\x89PNG data", maintype="image", subtype="png", filename='../evil"name.png'
    )
    return message.as_bytes()


def test_anonymous_users_are_sent_to_login(client: Client, user) -> None:
    message = store(make_email().as_bytes())
    for name, args in [
        ("list", []),
        ("poll", []),
        ("table", []),
        ("detail", [message.pk]),
        ("html", [message.pk]),
        ("source", [message.pk]),
    ]:
        response = client.get(reverse(f"inbox:{name}", args=args))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("accounts:login")), name
    response = client.post(reverse("inbox:clear"))
    assert response.status_code == 302 and CaughtMessage.objects.count() == 1


def test_empty_state_explains_how_mail_arrives(staff_client: Client, settings) -> None:
    settings.POSTROOM_INBOX_PORT = 2626
    body = staff_client.get(reverse("inbox:list")).content.decode()
    assert "Mail sent by Postroom in Development lands here." in body
    assert "SMTP 127.0.0.1:2626, any user name and password" in body


def test_the_page_names_the_port_serve_listens_on(staff_client: Client, settings) -> None:
    # `serve --inbox-port 2626` tells each request where its catcher is; the configured port
    # (POSTROOM_INBOX_PORT) would send the reader's applications to a port nobody listens on.
    settings.POSTROOM_INBOX_PORT = 2525
    response = staff_client.get("/inbox/", **{"postroom.inbox_port": 2626})
    assert "SMTP 127.0.0.1:2626" in response.content.decode()
    assert ":2525" not in response.content.decode()


def test_list_is_newest_first(staff_client: Client) -> None:
    store(make_email("Older").as_bytes(), minutes_ago=10)
    store(make_email("Newest").as_bytes(), minutes_ago=0)
    store(make_email("Middle", to="x@example.com").as_bytes(), minutes_ago=5)
    response = staff_client.get(reverse("inbox:list"))
    body = response.content.decode()
    assert body.index("Newest") < body.index("Middle") < body.index("Older")
    assert "x@example.com" in body
    assert '<time datetime="' in body
    assert "1–3 of 3" in body


def test_search_covers_recipients_sender_and_subject(staff_client: Client) -> None:
    store(make_email("Invoice 42").as_bytes())
    store(make_email("Welcome", sender="shop@example.net").as_bytes())
    store(make_email("Reset").as_bytes(), recipients=["bcc-only@example.org"])
    url = reverse("inbox:list")

    def subjects(query: str) -> list[str]:
        return [m.subject for m in staff_client.get(url, {"q": query}).context["page"]]

    assert subjects("invoice") == ["Invoice 42"]
    assert subjects("shop@") == ["Welcome"]
    assert subjects("bcc-only") == ["Reset"]
    assert subjects("  ") == ["Reset", "Welcome", "Invoice 42"]
    response = staff_client.get(url, {"q": "nothing-like-this"})
    assert "No message matches" in response.content.decode()
    assert 'value="nothing-like-this"' in response.content.decode()


def test_paging(staff_client: Client) -> None:
    raw = make_email("Bulk").as_bytes()
    CaughtMessage.objects.bulk_create(
        CaughtMessage.from_envelope("a@example.com", ["b@example.com"], raw) for _ in range(120)
    )
    url = reverse("inbox:list")
    first = staff_client.get(url).content.decode()
    assert "1–50 of 120" in first and "?page=2" in first
    last = staff_client.get(url, {"page": 3, "q": "bulk"}).content.decode()
    assert "101–120 of 120" in last and "?page=2&amp;q=bulk" in last
    assert "101–120 of 120" in staff_client.get(url, {"page": "999"}).content.decode()
    assert "1–50 of 120" in staff_client.get(url, {"page": "junk"}).content.decode()


def test_a_search_counts_its_hits_as_far_as_the_pages_shown(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_views, "PAGE_SIZE", 2)
    monkeypatch.setattr(inbox_views, "SEARCH_COUNT_LIMIT", 2)
    for n in range(5):
        store(make_email(f"Bulk {n}", text="common words").as_bytes())
    store(make_email("Other").as_bytes())
    url = reverse("inbox:list")

    def pager(**query: str) -> str:
        return staff_client.get(url, query).content.decode()

    for q in ("common", "bulk has:attachment", "bulk is:unread"):
        first = pager(q=q)
        if "has:attachment" in q:
            assert "No message matches" in first
            continue
        assert "1–2 of more than 2" in first and "page=2" in first
        assert "3–4 of more than 4" in pager(q=q, page="2")
        assert "5–5 of 5" in pager(q=q, page="3")
    assert "1–2 of 6" in pager()  # all messages: the exact total, from the totals row


def test_detail_tabs(staff_client: Client) -> None:
    message = store(_with_attachment())
    url = reverse("inbox:detail", args=[message.pk])

    html_tab = staff_client.get(url).content.decode()  # HTML is the default tab
    assert (
        '<iframe class="mail-html" sandbox="allow-same-origin" data-fit-content src="' in html_tab
    )
    assert "allow-scripts" not in html_tab
    assert 'aria-selected="true">HTML<' in html_tab
    assert "Attachments (1)" in html_tab

    text_tab = staff_client.get(url, {"tab": "text"}).content.decode()
    assert "<pre>Text body" in text_tab

    headers_tab = staff_client.get(url, {"tab": "headers"}).content.decode()
    assert "Message-ID" in headers_tab and "&lt;test@example.com&gt;" in headers_tab

    raw_tab = staff_client.get(url, {"tab": "raw"}).content.decode()
    assert "Content-Type: multipart/mixed" in raw_tab

    files_tab = staff_client.get(url, {"tab": "attachments"}).content.decode()
    assert reverse("inbox:attachment", args=[message.pk, 0]) in files_tab
    assert "evil&#x27;name.png" in files_tab and "image/png" in files_tab

    fallback = staff_client.get(url, {"tab": "<script>"})
    assert fallback.status_code == 200 and 'aria-selected="true">Text<' in fallback.content.decode()


def test_blind_copies_are_marked(staff_client: Client) -> None:
    message = store(make_email().as_bytes(), recipients=["user@example.com", "boss@example.com"])
    body = staff_client.get(reverse("inbox:detail", args=[message.pk])).content.decode()
    assert '<span class="mono">user@example.com</span>, ' in body
    assert '<span class="mono">boss@example.com</span><span class="badge"' in body
    assert body.count(">Bcc</span>") == 1


def test_html_part_is_served_sandboxed(staff_client: Client) -> None:
    message = store(make_email(html="<p>Hi<script>alert(1)</script></p>").as_bytes())
    response = staff_client.get(reverse("inbox:html", args=[message.pk]))
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == HTML_FRAME_CSP
    assert HTML_FRAME_CSP.startswith(
        "sandbox allow-same-origin; default-src 'none'; script-src 'none'"
    )
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b"<p>Hi" in response.content


def test_text_only_message_has_no_html_tab(staff_client: Client) -> None:
    message = store(make_email(text="only text").as_bytes())
    body = staff_client.get(reverse("inbox:detail", args=[message.pk])).content.decode()
    assert "?tab=html" not in body and "<pre>only text" in body
    assert staff_client.get(reverse("inbox:html", args=[message.pk])).status_code == 404


def test_attachment_download(staff_client: Client) -> None:
    message = store(_with_attachment())
    response = staff_client.get(reverse("inbox:attachment", args=[message.pk, 0]))
    assert response.status_code == 200
    assert response.content == b"\x89PNG data"
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="evil\'name.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert staff_client.get(reverse("inbox:attachment", args=[message.pk, 5])).status_code == 404


def test_source_download(staff_client: Client) -> None:
    raw = make_email("Säve me").as_bytes()
    message = store(raw)
    response = staff_client.get(reverse("inbox:source", args=[message.pk]))
    assert response.content == raw
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''S%C3%A4ve")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff garbage",
        b"Subject: =?bogus?q?x?=\r\nContent-Type: text/html; charset=nope\r\n\r\n<b>\xff</b>",
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain',
        b"Content-Type: multipart/mixed\r\n\r\n--b\r\nno boundary parameter\r\n--b--",
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: message/rfc822\r\n\r\nSubject: cut off\r\nContent-Type: multi",
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: application/pdf; name*=bogus-charset''%FF%00x.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n%%%\r\n--b--",
        b"Subject: \x00\x01\r\nContent-Type: text/plain; charset=\x00\r\n\r\n\x00body",
    ],
)
def test_malformed_messages_do_not_break_pages(staff_client: Client, raw: bytes) -> None:
    message = store(raw)
    assert staff_client.get(reverse("inbox:list")).status_code == 200
    url = reverse("inbox:detail", args=[message.pk])
    for tab in ("html", "text", "headers", "raw", "attachments"):
        assert staff_client.get(url, {"tab": tab}).status_code == 200, tab
    assert staff_client.get(reverse("inbox:html", args=[message.pk])).status_code in (200, 404)
    for item in message.outline().attachments:
        response = staff_client.get(reverse("inbox:attachment", args=[message.pk, item.index]))
        assert response.status_code == 200


def test_missing_message_is_404(staff_client: Client) -> None:
    assert staff_client.get(reverse("inbox:detail", args=[999])).status_code == 404


def test_delete_one(staff_client: Client) -> None:
    keep, gone = store(make_email("Keep").as_bytes()), store(make_email("Gone").as_bytes())
    url = reverse("inbox:delete", args=[gone.pk])
    assert staff_client.get(url).status_code == 405
    response = staff_client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("inbox:list")
    assert "Message deleted." in response.content.decode()
    assert list(CaughtMessage.objects.all()) == [keep]


def test_clear_all(staff_client: Client) -> None:
    for subject in ("One", "Two"):
        store(make_email(subject).as_bytes())
    body = staff_client.get(reverse("inbox:list")).content.decode()
    assert 'data-confirm="Delete every caught message?' in body
    response = staff_client.post(reverse("inbox:clear"), follow=True)
    assert "Deleted 2 messages." in response.content.decode()
    assert not CaughtMessage.objects.exists()


def test_actions_need_csrf(user) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    store(make_email().as_bytes())
    assert client.post(reverse("inbox:clear")).status_code == 403
    assert CaughtMessage.objects.count() == 1


def test_poll_and_table_fragment(staff_client: Client) -> None:
    assert staff_client.get(reverse("inbox:poll")).json() == {"latest_id": 0, "count": 0}
    message = store(make_email("Fresh").as_bytes())
    assert staff_client.get(reverse("inbox:poll")).json() == {
        "latest_id": message.pk,
        "count": 1,
    }
    fragment = staff_client.get(reverse("inbox:table"), {"q": "fresh"}).content.decode()
    assert fragment.startswith('<div id="inbox-table"')
    assert f'data-latest-id="{message.pk}"' in fragment and "Fresh" in fragment
    assert "<html" not in fragment


# Large and real-world messages ----------------------------------------------------------------

PAGE_BUDGET = 0.2  # seconds; pages take about 20 ms, the margin is for a loaded machine
LONG_LINE = b"A line of the long text body, long enough to need the download link.\n"


def _big_message() -> bytes:
    """About 25 MB: a 6 MB text body and an 18 MB base64 attachment, built by hand for speed."""
    attachment = base64.encodebytes(os.urandom(14_000_000))
    return (
        b"From: Sender <app@example.com>\r\nTo: user@example.com\r\nSubject: Huge\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + LONG_LINE
        * 90_000
        + b"\r\n--b1\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="data.zip"\r\n\r\n'
        + attachment
        + b"\r\n--b1--\r\n"
    )


def _nested_message() -> bytes:
    """About 3 MB: a message forwarding a message that has an attachment of its own."""
    inner = make_email("Inner report", text="inner text")
    inner.add_attachment(os.urandom(2_200_000), maintype="image", subtype="png", filename="i.png")
    outer = make_email("Fwd: report", text="see the forwarded message", html="<p>see it</p>")
    outer.add_attachment(inner)
    return outer.as_bytes()


def _refuse_full_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a page parsed the whole message again")

    monkeypatch.setattr(parsing, "outline", refuse)
    monkeypatch.setattr(mime, "scan", refuse)


def _timed_get(client: Client, url: str) -> tuple[float, str]:
    """The fastest of three requests (the first warms caches), and the page."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, url
    return min(timings), response.content.decode(errors="replace")


def _page_urls(pk: int) -> list[str]:
    detail = reverse("inbox:detail", args=[pk])
    tabs = [f"{detail}?tab={tab}" for tab in ("text", "headers", "raw", "attachments")]
    return [reverse("inbox:list"), reverse("inbox:table"), detail, *tabs]


def test_a_25_mb_message_is_parsed_once_and_its_pages_are_fast(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _big_message()
    assert len(raw) > 25_000_000
    message = store(raw)
    _refuse_full_parsing(monkeypatch)
    for url in _page_urls(message.pk):
        elapsed, _ = _timed_get(staff_client, url)
        assert elapsed < PAGE_BUDGET, (url, elapsed)
    _, text_tab = _timed_get(staff_client, reverse("inbox:detail", args=[message.pk]) + "?tab=text")
    assert "Showing the start of a long text." in text_tab
    assert reverse("inbox:source", args=[message.pk]) in text_tab
    assert text_tab.count("A line of the long text body") < 10_000  # 256 KB of 6 MB
    files = staff_client.get(reverse("inbox:attachment", args=[message.pk, 0]))
    assert len(files.content) == 14_000_000


def test_a_nested_3_mb_message_has_fast_pages_and_lists_the_attached_message(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = store(_nested_message())
    _refuse_full_parsing(monkeypatch)
    for url in [*_page_urls(message.pk), reverse("inbox:html", args=[message.pk])]:
        elapsed, _ = _timed_get(staff_client, url)
        assert elapsed < PAGE_BUDGET, (url, elapsed)
    files_tab = staff_client.get(reverse("inbox:detail", args=[message.pk]), {"tab": "attachments"})
    body = files_tab.content.decode()
    assert "Attachments (1)" in body and "message-1.eml" in body and "Inner report" in body
    inner = staff_client.get(reverse("inbox:attachment", args=[message.pk, 0])).content
    assert b"Subject: Inner report" in inner and len(inner) > 2_900_000


def test_messages_caught_before_outlines_are_read_once_then_stored(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = store(_with_attachment())
    CaughtMessage.objects.filter(pk=message.pk).update(summary={}, preview="")
    url = reverse("inbox:detail", args=[message.pk])
    assert "Attachments (1)" in staff_client.get(url).content.decode()
    message.refresh_from_db()
    assert message.summary["version"] == parsing.OUTLINE_VERSION
    assert message.preview == "Text body"
    _refuse_full_parsing(monkeypatch)
    assert "<pre>Text body" in staff_client.get(url, {"tab": "text"}).content.decode()


def test_real_world_shapes_are_shown_as_mail_clients_show_them(staff_client: Client) -> None:
    raw = (
        b"From: J\xc3\xbcrgen <j@example.com>\r\nTo: Ren\xe9 <r@example.com>\r\n"
        b'Subject: Caf\xe9\r\nContent-Type: multipart/mixed; boundary="s"\r\n\r\n'
        b'--s\r\nContent-Type: application-x-gzip; name="document.xml.gz"\r\n\r\nGZ\r\n'
        b"--s\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="=?utf-8?q?R=C3=A9sum=C3=A9.pdf?="\r\n'
        b"\r\n%PDF\r\n--s\r\nContent-Type: text/plain\r\n\r\nThe body\r\n--s--\r\n"
    )
    message = store(raw)
    assert (message.subject, message.from_header) == ("Café", "Jürgen <j@example.com>")
    page = staff_client.get(reverse("inbox:detail", args=[message.pk])).content.decode()
    assert "René &lt;r@example.com&gt;" in page and "\ufffd" not in page
    assert "<pre>The body" in page and "Attachments (2)" in page
    files = staff_client.get(reverse("inbox:detail", args=[message.pk]), {"tab": "attachments"})
    assert "document.xml.gz" in files.content.decode() and "Résumé.pdf" in files.content.decode()
    gz = staff_client.get(reverse("inbox:attachment", args=[message.pk, 0]))
    assert gz.content == b"GZ" and gz["Content-Type"] == "application/octet-stream"


def test_the_list_shows_the_start_of_each_text(staff_client: Client) -> None:
    store(make_email("Greeting", text="Hello Ada,\n\nyour   invoice is ready.").as_bytes())
    body = staff_client.get(reverse("inbox:list")).content.decode()
    assert '<span class="muted preview">Hello Ada, your invoice is ready.</span>' in body


def test_inline_images_are_read_from_their_slices(staff_client: Client) -> None:
    message = make_email(html='<p>Logo: <img src="cid:logo@example.com"></p>')
    message.get_payload()[1].add_related(
        b"\x89PNG logo", maintype="image", subtype="png", cid="<logo@example.com>"
    )
    stored = store(message.as_bytes())
    html = staff_client.get(reverse("inbox:html", args=[stored.pk])).content.decode()
    encoded = base64.b64encode(b"\x89PNG logo").decode()
    assert f'src="data:image/png;base64,{encoded}"' in html
    assert not CaughtMessage.objects.get(pk=stored.pk).has_attachments


def test_a_2_mb_to_header_is_shown_cut_and_quickly(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    addresses = b",\r\n ".join(b"Person %d <p%d@example.com>" % (i, i) for i in range(70_000))
    raw = b"From: a@example.com\r\nTo: " + addresses + b"\r\nSubject: Many\r\n\r\nbody\r\n"
    message = store(raw, recipients=["p69999@example.com", "hidden@example.com"])
    _refuse_full_parsing(monkeypatch)
    for url in _page_urls(message.pk):
        elapsed, page = _timed_get(staff_client, url)
        assert elapsed < PAGE_BUDGET, (url, elapsed)
    detail = staff_client.get(reverse("inbox:detail", args=[message.pk])).content.decode()
    assert "Person 0 &lt;p0@example.com&gt;" in detail and "p69999@example.com&gt;" not in detail
    assert "more bytes in the raw source)" in detail
    assert detail.count(">Bcc</span>") == 1  # only hidden@ is in no To header
