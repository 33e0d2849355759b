"""One message in the email log: who it went to, what the server said, and what was sent."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.utils import timezone

from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import DeliveryAttempt, OutboxMessage

pytestmark = pytest.mark.django_db

HTML = '<p>Hello <b>Ada</b></p><img src="https://tracker.example/pixel.gif">'


def html_message(**fields) -> OutboxMessage:
    message = EmailMultiAlternatives(
        "Your entry",
        "Hello Ada (plain text)",
        from_email="Site <site@example.org>",
        to=["ada@example.net", "bob@example.net"],
        cc=["carol@example.net"],
        bcc=["audit@example.net"],
    )
    message.attach_alternative(HTML, "text/html")
    row = enqueue(message, kind="form")
    if fields:
        OutboxMessage.objects.filter(pk=row.pk).update(**fields)
    row.refresh_from_db()
    return row


def text_message(**fields) -> OutboxMessage:
    row = enqueue(EmailMessage("Plain", "Just text", "site@example.org", ["a@example.net"]))
    if fields:
        OutboxMessage.objects.filter(pk=row.pk).update(**fields)
    row.refresh_from_db()
    return row


def page(client, row, query="") -> str:
    response = client.get(f"/outbox/{row.pk}/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_summary_shows_envelope_ids_and_times(admin_client):
    row = html_message()
    html = page(admin_client, row)
    summary = html.split('id="summary"', 1)[1].split("</table>", 1)[0]
    for text in [
        "site@example.org",
        "ada@example.net, bob@example.net",
        "carol@example.net",
        "audit@example.net",
        "Your entry",
        row.message_id.replace("<", "&lt;").replace(">", "&gt;"),
        "Form",
        "badge badge-queued",
        f'<time datetime="{row.created_at.isoformat()}">',
        "Next attempt",
    ]:
        assert text in summary, text
    assert '<script src="/static/postroom/localtime.js">' in html  # shown in local time


def test_next_attempt_is_shown_only_while_queued(admin_client):
    row = text_message(status="sent", sent_at=timezone.now(), last_reply="250 2.0.0 Ok")
    summary = page(admin_client, row).split('id="summary"', 1)[1].split("</table>", 1)[0]
    assert "Next attempt" not in summary
    assert f'<time datetime="{row.sent_at.isoformat()}">' in summary


def test_each_recipient_has_its_outcome(admin_client):
    row = html_message(
        status="sent",
        recipient_status={
            "ada@example.net": "accepted",
            "bob@example.net": "550 5.1.1 <bob@example.net>: Recipient address rejected",
        },
    )
    table = page(admin_client, row).split('id="recipients"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    assert len(rows) == 4
    assert "ada@example.net" in rows[0] and "Accepted" in rows[0]
    assert "bob@example.net" in rows[1] and "Refused" in rows[1]
    assert "550 5.1.1 &lt;bob@example.net&gt;: Recipient address rejected" in rows[1]
    assert "carol@example.net" in rows[2] and "Cc" in rows[2]
    assert "audit@example.net" in rows[3] and "Bcc" in rows[3]


def test_the_html_tab_is_a_sandboxed_frame_and_the_default(admin_client):
    row = html_message()
    html = page(admin_client, row)
    assert re.search(r'<a role="tab" href="\?tab=html" aria-selected="true">HTML</a>', html)
    assert re.search(r'<a role="tab" href="\?tab=text" aria-selected="false">Text</a>', html)
    frame = re.search(r"<iframe[^>]*>", html).group(0)
    # Sandboxed without scripts; the same origin only so that the page can fit it to its content.
    assert ' sandbox="allow-same-origin" data-fit-content ' in frame
    assert "allow-scripts" not in frame
    assert f'src="/outbox/{row.pk}/html/"' in frame
    assert "<b>Ada</b>" not in html  # the mail's HTML is never part of the page itself


def test_the_html_view_locks_the_body_down(admin_client):
    row = html_message()
    response = admin_client.get(f"/outbox/{row.pk}/html/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == (
        "sandbox allow-same-origin; default-src 'none'; script-src 'none'; img-src data: cid:;"
        " style-src 'unsafe-inline'"
    )
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "<b>Ada</b>" in response.content.decode()


def test_a_text_only_message_has_no_html_tab(admin_client):
    row = text_message()
    html = page(admin_client, row)
    assert "?tab=html" not in html
    assert re.search(r'href="\?tab=text" aria-selected="true"', html)
    assert "<pre>Just text" in html
    assert admin_client.get(f"/outbox/{row.pk}/html/").status_code == 404


def test_text_headers_and_raw_tabs(admin_client):
    row = html_message()
    text = page(admin_client, row, "?tab=text")
    assert "Hello Ada (plain text)" in text
    assert "<iframe" not in text

    headers = page(admin_client, row, "?tab=headers")
    assert re.search(r'href="\?tab=headers" aria-selected="true"', headers)
    assert "Message-ID" in headers and "Content-Type" in headers
    assert "audit@example.net" not in headers.split('id="tab-headers"')[1].split("</table>")[0]

    raw = page(admin_client, row, "?tab=raw")
    assert "MIME-Version: 1.0" in raw
    assert "Content-Type: multipart/alternative" in raw
    assert f'href="/outbox/{row.pk}/source.eml"' in raw


def test_an_unknown_tab_falls_back_to_text(admin_client):
    row = html_message()
    html = page(admin_client, row, "?tab=%3Cscript%3E")
    assert re.search(r'href="\?tab=text" aria-selected="true"', html)
    assert "<script>" not in html.split("<main", 1)[1].split("</main>")[0]


def test_the_source_downloads_as_the_exact_bytes(admin_client):
    row = html_message()
    response = admin_client.get(f"/outbox/{row.pk}/source.eml")
    assert response.status_code == 200
    assert response.content == bytes(row.raw)
    assert response["Content-Type"] == "message/rfc822"
    assert 'filename="Your entry.eml"' in response["Content-Disposition"]


def test_a_purged_body_is_explained_instead_of_the_tabs(admin_client):
    row = html_message(status="sent", raw=b"", last_reply="250 2.0.0 Ok: queued as 4F2")
    html = page(admin_client, row)
    assert "The body of this message was purged" in html
    assert 'role="tablist"' not in html
    assert "Resend" not in html
    assert "Your entry" in html and "250 2.0.0 Ok: queued as 4F2" in html
    assert admin_client.get(f"/outbox/{row.pk}/html/").status_code == 404
    assert admin_client.get(f"/outbox/{row.pk}/source.eml").status_code == 404


def test_a_sent_message_shows_the_servers_reply(admin_client):
    row = text_message(status="sent", last_reply="250 2.0.0 Ok: queued as ABC123")
    html = page(admin_client, row)
    assert "Delivered to the server." in html
    assert re.search(r'id="server-reply">250 2.0.0 Ok: queued as ABC123<', html)
    assert "delivery:message-status" not in html and "fetch(" not in html  # finished: no polling


def test_an_unfinished_message_polls_its_status(admin_client):
    row = text_message()
    html = page(admin_client, row)
    assert f"/outbox/{row.pk}/status.json" in html
    status = admin_client.get(f"/outbox/{row.pk}/status.json").json()
    assert status == {"status": "queued", "finished": False, "reply": ""}


def test_the_attempts_timeline_shows_each_reply(admin_client):
    row = text_message(status="sent")
    start = timezone.now() - timedelta(minutes=5)
    DeliveryAttempt.objects.create(
        message=row,
        started_at=start,
        transport="smtp://mail.example.org:587",
        step="rcpt",
        reply="451 4.7.1 Greylisted, try again later",
    )
    DeliveryAttempt.objects.create(
        message=row,
        started_at=start + timedelta(minutes=2),
        transport="smtp://mail.example.org:587",
        succeeded=True,
        reply="250 2.0.0 Ok",
    )
    timeline = page(admin_client, row).split('id="attempts"', 1)[1].split("</table>", 1)[0]
    assert timeline.index("451 4.7.1 Greylisted") < timeline.index("250 2.0.0 Ok")
    assert "rcpt" in timeline


def test_actions_are_offered_to_administrators_only(admin_client, client, editor):
    row = text_message(status="failed")
    html = page(admin_client, row)
    assert f'action="/outbox/{row.pk}/retry/"' in html
    assert f'action="/outbox/{row.pk}/resend/"' in html
    assert f'action="/outbox/{row.pk}/cancel/"' not in html  # failed mail cannot be cancelled

    client.force_login(editor)
    html = page(client, row)
    assert "/retry/" not in html and "/resend/" not in html


def test_a_missing_message_is_404(admin_client):
    assert admin_client.get("/outbox/999999/").status_code == 404


def test_every_link_on_the_log_and_a_message_works(admin_client):
    row = html_message(status="sent", last_reply="250 Ok")
    for url in ["/outbox/", f"/outbox/{row.pk}/", f"/outbox/{row.pk}/?tab=raw"]:
        html = admin_client.get(url).content.decode()
        for link in set(re.findall(r'(?:href|src)="(/outbox/[^"#]*)"', html)):
            assert admin_client.get(link.replace("&amp;", "&")).status_code == 200, link


def test_a_long_text_is_cut_with_a_link_to_the_whole_message(admin_client):
    body = "A line of a very long report.\n" * 20_000  # 600 KB
    row = enqueue(EmailMessage("Report", body, "site@example.org", ["a@example.net"]))
    started = time.perf_counter()
    html = page(admin_client, row, "?tab=text")
    assert time.perf_counter() - started < 1.0
    assert "Showing the start of a long text." in html
    assert f'href="/outbox/{row.pk}/source.eml"' in html
    assert html.count("A line of a very long report.") < 10_000


def test_attachments_of_unknown_type_are_not_shown_as_the_text(admin_client):
    message = EmailMessage("Files", "The real text", "site@example.org", ["a@example.net"])
    message.attach("document.xml.gz", b"\x1f\x8b gzip bytes", "application/x-gzip")
    row = enqueue(message)
    html = page(admin_client, row, "?tab=text")
    assert "<pre>The real text" in html and "gzip bytes" not in html


def test_each_attempt_shows_the_connection_that_carried_it(admin_client):
    row = text_message()
    DeliveryAttempt.objects.create(
        message=row, transport="main.example:587", connection="main", step="connect"
    )
    DeliveryAttempt.objects.create(
        message=row, transport="backup.example:587", connection="backup", succeeded=True
    )
    html = admin_client.get(f"/outbox/{row.pk}/").content.decode()
    table = html[html.index('id="attempts"') :]
    assert table.index(">Main<") < table.index(">Backup<")
