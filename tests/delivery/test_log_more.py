"""The email log keeps itself current, exports its filtered rows, resends to another address
and searches the text of each message."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.mail import EmailMessage
from django.test import Client

from postroom.delivery.enqueue import enqueue, enqueue_raw
from postroom.delivery.models import OutboxMessage

pytestmark = pytest.mark.django_db


def queue(subject="Hello", body="Body", to=("a@example.net",), kind="form", **fields):
    row = enqueue(EmailMessage(subject, body, "site@example.org", list(to)), kind=kind)
    if fields:
        OutboxMessage.objects.filter(pk=row.pk).update(**fields)
    return row


def subjects(response) -> list[str]:
    import re

    return re.findall(r'<a href="/outbox/\d+/">([^<]*)</a>', response.content.decode())


# Search across the body ----------------------------------------------------------------------


def test_search_finds_words_of_the_body_in_any_case(admin_client: Client) -> None:
    queue("Receipt", body="Your order 1234 has SHIPPED today.")
    queue("Other", body="Nothing to see")
    assert subjects(admin_client.get("/outbox/?q=shipped")) == ["Receipt"]
    assert subjects(admin_client.get("/outbox/?q=order+shipped")) == ["Receipt"]
    assert subjects(admin_client.get("/outbox/?q=shipped+nothing")) == []


def test_search_finds_non_ascii_words_and_treats_wildcards_as_text(admin_client: Client) -> None:
    queue("Café", body="Crème brûlée served at 50% off_now")
    queue("Plain", body="Fifty off now")
    assert subjects(admin_client.get("/outbox/?q=brûlée")) == ["Café"]
    assert subjects(admin_client.get("/outbox/?q=50%25")) == ["Café"]
    assert subjects(admin_client.get("/outbox/?q=off_now")) == ["Café"]
    assert subjects(admin_client.get("/outbox/?q=%25")) == ["Café"]  # not "everything"


def test_search_reads_relayed_bytes_with_backslashes(admin_client: Client) -> None:
    raw = b"From: a@example.org\r\nSubject: Path\r\n\r\nSaved to C:\\temp\\report.txt\r\n"
    enqueue_raw(raw, "a@example.org", ["b@example.net"])
    queue("Other")
    assert subjects(admin_client.get("/outbox/?q=C:%5Ctemp%5Creport")) == ["Path"]


# Live update ---------------------------------------------------------------------------------


def test_the_rows_alone_follow_the_same_filters_and_page(admin_client: Client) -> None:
    queue("Failed one", status="failed")
    queue("Sent one", status="sent")
    response = admin_client.get("/outbox/rows/?status=failed")
    body = response.content.decode()
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    assert body.startswith('<tbody id="log-rows"') and "<html" not in body
    assert subjects(response) == ["Failed one"] and 'data-total="1"' in body


def test_the_rows_version_changes_when_a_shown_row_changes(admin_client: Client) -> None:
    import re

    row = queue("Watched")

    def version() -> str:
        body = admin_client.get("/outbox/rows/").content.decode()
        return re.search(r'data-version="(\w+)"', body).group(1)

    first = version()
    assert version() == first
    OutboxMessage.objects.filter(pk=row.pk).update(status="sent")
    second = version()
    assert second != first
    queue("Another")
    assert version() != second


def test_the_list_page_carries_its_live_update(admin_client: Client) -> None:
    queue("Hello")
    body = admin_client.get("/outbox/?status=queued").content.decode()
    assert 'data-rows-url="/outbox/rows/"' in body
    assert '<script src="/static/delivery/log.js">' in body
    assert 'id="log-rows"' in body and 'id="max-id"' in body


def test_editors_get_the_live_update_too(client: Client, editor) -> None:
    client.force_login(editor)
    queue("Hello")
    assert client.get("/outbox/rows/").status_code == 200
    assert 'data-rows-url="/outbox/rows/"' in client.get("/outbox/").content.decode()


def test_the_rows_need_a_signed_in_user(client: Client) -> None:
    assert client.get("/outbox/rows/").status_code == 302


# CSV export ----------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_export_has_every_filtered_row_not_only_the_page(admin_client: Client) -> None:
    for n in range(55):
        queue(f"Failed {n}", status="failed")
    queue("Sent one", status="sent")
    body = admin_client.get("/outbox/?status=failed").content.decode()
    assert 'href="/outbox/export.csv?status=failed"' in body
    response = admin_client.get("/outbox/export.csv?status=failed")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0][:7] == ["id", "created_at", "from", "to", "cc", "bcc", "subject"]
    assert len(rows) == 56 and {row[8] for row in rows[1:]} == {"failed"}
    assert "Sent one" not in {row[6] for row in rows}


def test_export_neutralises_formulas(admin_client: Client) -> None:
    queue('=HYPERLINK("http://evil.test","click")', last_reply="@SUM(A1)")
    (_, row) = _csv(admin_client.get("/outbox/export.csv"))
    assert row[6] == '\'=HYPERLINK("http://evil.test","click")'
    assert row[11] == "'@SUM(A1)"


# Resend to another address -------------------------------------------------------------------


def test_resend_to_another_address_is_a_new_logged_message(admin_client: Client) -> None:
    original = queue("Your receipt", to=["buyer@example.net"], cc="c@example.net")
    body = admin_client.get(f"/outbox/{original.pk}/").content.decode()
    assert f'action="/outbox/{original.pk}/resend-to/"' in body

    response = admin_client.post(f"/outbox/{original.pk}/resend-to/", {"to": "new@example.org"})
    copy = OutboxMessage.objects.exclude(pk=original.pk).get()
    assert response["Location"] == f"/outbox/{copy.pk}/"
    assert copy.envelope_recipients == ("new@example.org",)
    assert (copy.to, copy.cc, copy.bcc) == ("new@example.org", "", "")
    assert copy.kind == original.kind and copy.status == "queued"
    assert copy.message_id != original.message_id
    assert copy.message_id.encode() in bytes(copy.raw)
    assert b"Subject: Your receipt" in bytes(copy.raw)


def test_resend_to_a_bad_address_says_so_and_sends_nothing(admin_client: Client) -> None:
    original = queue("Hello")
    response = admin_client.post(
        f"/outbox/{original.pk}/resend-to/", {"to": "not-an-address"}, follow=True
    )
    assert "“not-an-address” is not an email address." in response.content.decode()
    assert OutboxMessage.objects.count() == 1


def test_sign_in_links_are_never_resent_to_another_address(admin_client: Client) -> None:
    invitation = queue("You are invited", kind="invite")
    body = admin_client.get(f"/outbox/{invitation.pk}/").content.decode()
    assert 'id="resend-to"' not in body
    response = admin_client.post(
        f"/outbox/{invitation.pk}/resend-to/", {"to": "x@example.org"}, follow=True
    )
    assert "meant for its recipient only" in response.content.decode()
    assert OutboxMessage.objects.count() == 1


def test_only_administrators_resend_to_another_address(client: Client, editor) -> None:
    client.force_login(editor)
    original = queue("Hello")
    assert 'id="resend-to"' not in client.get(f"/outbox/{original.pk}/").content.decode()
    response = client.post(f"/outbox/{original.pk}/resend-to/", {"to": "x@example.org"})
    assert response.status_code == 403 and OutboxMessage.objects.count() == 1
