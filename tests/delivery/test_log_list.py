"""The email log lists every queued email, newest first, and narrows it down on request."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import OutboxMessage

pytestmark = pytest.mark.django_db


def queue(subject="Hello", to=("a@example.net",), created=None, **fields) -> OutboxMessage:
    """One message through the real enqueue; ``fields`` (status, kind, ...) set afterwards."""
    message = EmailMessage(subject, "Body", from_email="Site <site@example.org>", to=list(to))
    row = enqueue(message, kind=fields.pop("kind", "system"))
    if created is not None:
        fields["created_at"] = created
    if fields:
        OutboxMessage.objects.filter(pk=row.pk).update(**fields)
    return row


def listed(response) -> list[str]:
    """The subjects in the list's table, top to bottom."""
    body = response.content.decode()
    return re.findall(r'<a href="/outbox/\d+/">([^<]*)</a>', body)


def test_messages_are_listed_newest_first_with_their_details(admin_client):
    now = timezone.now()
    queue("Older", created=now - timedelta(hours=2))
    queue(
        "Newest",
        to=["b@example.net"],
        kind="form",
        status="failed",
        attempt_count=3,
        last_reply="550 5.1.1 <b@example.net>: Recipient address rejected",
        created=now,
    )
    queue("Middle", created=now - timedelta(hours=1))

    response = admin_client.get("/outbox/")

    assert response.status_code == 200
    assert listed(response) == ["Newest", "Middle", "Older"]
    html = response.content.decode()
    row = (
        html.split("Newest", 1)[0].rsplit("<tr>", 1)[1]
        + html.split("Newest", 1)[1].split("</tr>")[0]
    )
    assert f'<time datetime="{now.isoformat()}">' in row
    assert "b@example.net" in row
    assert "Form" in row
    assert 'class="badge badge-failed"' in row
    assert "<td>3</td>" in row
    assert "550 5.1.1" in row
    assert '<script src="/static/postroom/localtime.js">' in html  # shown in local time


def test_long_replies_are_cut_short_with_the_whole_reply_on_hover(admin_client):
    reply = "451 4.7.1 " + "Please try again later, the server is busy. " * 5
    queue("Busy", last_reply=reply)
    html = admin_client.get("/outbox/").content.decode()
    assert reply not in html.split("</thead>")[1].split("title=")[0]
    assert f'title="{reply}"' in html
    assert "…" in html


def test_filter_by_status_and_kind(admin_client):
    queue("Form failed", kind="form", status="failed")
    queue("Form sent", kind="form", status="sent")
    queue("Invite failed", kind="invite", status="failed")

    assert listed(admin_client.get("/outbox/?status=failed")) == ["Invite failed", "Form failed"]
    assert listed(admin_client.get("/outbox/?kind=form")) == ["Form sent", "Form failed"]
    assert listed(admin_client.get("/outbox/?status=failed&kind=form")) == ["Form failed"]


def test_date_range_is_read_in_utc_and_includes_both_days(admin_client):
    queue("April 30", created=datetime(2024, 4, 30, 12, 0, tzinfo=UTC))
    queue("May 1 late", created=datetime(2024, 5, 1, 23, 59, tzinfo=UTC))
    queue("May 2 early", created=datetime(2024, 5, 2, 0, 0, tzinfo=UTC))
    queue("May 3", created=datetime(2024, 5, 3, 8, 0, tzinfo=UTC))

    response = admin_client.get("/outbox/?from=2024-05-01&to=2024-05-02")
    assert listed(response) == ["May 2 early", "May 1 late"]
    assert listed(admin_client.get("/outbox/?from=2024-05-02")) == ["May 3", "May 2 early"]
    assert listed(admin_client.get("/outbox/?to=2024-04-30")) == ["April 30"]


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("24h", ["2 hours ago"]),
        ("7d", ["2 hours ago", "3 days ago"]),
        ("30d", ["2 hours ago", "3 days ago", "20 days ago"]),
        ("", ["2 hours ago", "3 days ago", "20 days ago", "60 days ago"]),
    ],
)
def test_period_presets(admin_client, period, expected):
    now = timezone.now()
    for label, age in [
        ("60 days ago", timedelta(days=60)),
        ("20 days ago", timedelta(days=20)),
        ("3 days ago", timedelta(days=3)),
        ("2 hours ago", timedelta(hours=2)),
    ]:
        queue(label, created=now - age)
    assert listed(admin_client.get(f"/outbox/?period={period}")) == expected


def test_search_finds_recipients_in_to_cc_and_bcc_and_words_in_the_subject(admin_client):
    queue("Your invoice", to=["alice@example.net"])
    copy = EmailMessage(
        "Weekly report",
        "Body",
        from_email="site@example.org",
        to=["team@example.net"],
        cc=["carol@example.net"],
        bcc=["bob@example.net"],
    )
    enqueue(copy)
    queue("Welcome", to=["dave@example.net"])

    assert listed(admin_client.get("/outbox/?q=ALICE")) == ["Your invoice"]
    assert listed(admin_client.get("/outbox/?q=carol")) == ["Weekly report"]
    assert listed(admin_client.get("/outbox/?q=bob%40example")) == ["Weekly report"]
    assert listed(admin_client.get("/outbox/?q=invoice")) == ["Your invoice"]
    # Every word must match somewhere: a recipient and a word of the subject.
    assert listed(admin_client.get("/outbox/?q=alice+invoice")) == ["Your invoice"]
    assert listed(admin_client.get("/outbox/?q=alice+welcome")) == []


def test_paging_by_fifty_with_a_range_label(admin_client):
    start = timezone.now() - timedelta(days=1)
    for number in range(120):
        queue(f"Message {number:03}", created=start + timedelta(minutes=number))

    first = admin_client.get("/outbox/")
    assert "1–50 of 120" in first.content.decode()
    assert listed(first)[0] == "Message 119"
    assert len(listed(first)) == 50

    third = admin_client.get("/outbox/?page=3")
    assert "101–120 of 120" in third.content.decode()
    assert listed(third) == [f"Message {n:03}" for n in range(19, -1, -1)]
    assert "Page 3 of 3" in third.content.decode()


def test_thousands_are_grouped_in_the_range_label(admin_client):
    row = queue("One")
    copies = [
        OutboxMessage(
            sender=row.sender,
            to=row.to,
            subject=f"Copy {n}",
            message_id=f"<{n}@x>",
            raw=b"Subject: x\r\n\r\nx",
        )
        for n in range(1233)
    ]
    OutboxMessage.objects.bulk_create(copies)
    assert "1–50 of 1,234" in admin_client.get("/outbox/").content.decode()


def test_filters_are_kept_when_paging(admin_client):
    for number in range(60):
        queue(f"Failed {number}", status="failed", kind="form")
    queue("Sent", status="sent", kind="form")

    html = admin_client.get("/outbox/?status=failed&kind=form&q=failed").content.decode()
    assert "1–50 of 60" in html
    assert 'href="?q=failed&amp;status=failed&amp;kind=form&amp;page=2"' in html

    second = admin_client.get("/outbox/?q=failed&status=failed&kind=form&page=2")
    assert len(listed(second)) == 10
    html = second.content.decode()
    assert '<option value="failed" selected>' in html
    assert 'value="failed"' in html.split('name="q"')[1].split(">")[0]


@pytest.mark.parametrize("page", ["abc", "-1", "0", "99999", "1.5", ""])
def test_a_bad_page_number_shows_a_page_anyway(admin_client, page):
    queue("Only one")
    response = admin_client.get(f"/outbox/?page={page}")
    assert response.status_code == 200
    assert listed(response) == ["Only one"]


def test_an_unknown_status_is_named_and_left_out(admin_client):
    queue("Sent", status="sent")
    queue("Failed", status="failed")
    response = admin_client.get("/outbox/?status=bogus")
    assert response.status_code == 200
    assert "Unknown status “bogus”: showing every status." in response.content.decode()
    assert listed(response) == ["Failed", "Sent"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "from=yesterday",
            "Pick a date in the date box (or type it as YYYY-MM-DD); this one was left out.",
        ),
        (
            "to=2024-13-45",
            "Pick a date in the date box (or type it as YYYY-MM-DD); this one was left out.",
        ),
        (
            "from=2024-05-10&to=2024-05-01",
            "This date is before the “Created on or after” date; it was left out.",
        ),
        ("period=week", "Unknown period “week”"),
        ("kind=%3Cscript%3E", "Unknown kind “&lt;script&gt;”"),
        ("q=a%00b", "Null characters are not allowed."),
    ],
)
def test_bad_filters_say_what_was_wrong_next_to_the_filter(admin_client, query, message):
    queue("Still listed", created=datetime(2024, 5, 5, tzinfo=UTC))
    response = admin_client.get(f"/outbox/?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'class="errorlist"' in html
    assert "<script>" not in html.split("<main", 1)[1].split("</main>")[0]


def test_an_enormous_search_does_not_break_the_page(admin_client):
    queue("Hello")
    response = admin_client.get("/outbox/?q=" + "zq " * 5000)
    assert response.status_code == 200
    assert listed(response) == []


def test_empty_log_says_how_to_get_a_first_message(admin_client):
    html = admin_client.get("/outbox/").content.decode()
    assert "No email yet." in html
    assert 'href="/settings/"' in html


def test_no_match_says_how_to_widen_the_filter(admin_client):
    queue("Hello", status="sent")
    html = admin_client.get("/outbox/?status=failed").content.decode()
    assert "No message matches these filters." in html
    assert "clear the filters" in html


def test_administrators_get_checkboxes_and_bulk_actions(admin_client):
    row = queue("Hello")
    html = admin_client.get("/outbox/").content.decode()
    assert f'name="ids" value="{row.pk}"' in html
    assert 'name="scope" value="all"' in html
    assert "Select all 1 message in the log" in html
    assert 'action="/outbox/bulk/"' in html


def test_editors_read_the_log_without_any_action(client, editor):
    queue("Hello")
    client.force_login(editor)
    response = client.get("/outbox/")
    assert listed(response) == ["Hello"]
    html = response.content.decode()
    assert 'name="ids"' not in html
    assert 'value="resend"' not in html


def test_anonymous_visitors_are_sent_to_the_login_page(client, administrator):
    response = client.get("/outbox/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_log_is_in_the_navigation_after_the_dashboard(admin_client):
    html = admin_client.get("/outbox/").content.decode()
    nav = html.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    labels = re.findall(r">([^<>]+)</a></li>", nav)
    assert labels[:2] == ["Dashboard", "Email log"]
    assert 'href="/outbox/" aria-current="page">Email log<' in nav
