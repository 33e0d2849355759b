"""Reading the inbox: read/unread, selection, newer/older, previews, remote images."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from emails import make_email
from postroom.emailview.responses import HTML_FRAME_CSP, HTML_FRAME_CSP_REMOTE_IMAGES
from postroom.inbox.models import CaughtMessage

from .conftest import store

pytestmark = pytest.mark.django_db


def test_opening_marks_read_and_the_navigation_counts_unread(staff_client: Client) -> None:
    first = store(make_email("One").as_bytes(), minutes_ago=2)
    store(make_email("Two").as_bytes())
    page = staff_client.get(reverse("inbox:list")).content.decode()
    assert 'class="nav-count"' in page and ">2<span" in page
    assert page.count('class="unread"') == 2
    staff_client.get(reverse("inbox:detail", args=[first.pk]))
    first.refresh_from_db()
    assert first.read_at is not None
    page = staff_client.get(reverse("inbox:list")).content.decode()
    assert ">1<span" in page and page.count('class="unread"') == 1


def test_select_several_to_mark_or_delete(staff_client: Client) -> None:
    ids = [store(make_email(f"M{i}").as_bytes()).pk for i in range(3)]
    url = reverse("inbox:bulk")
    response = staff_client.post(url, {"action": "read", "id": ids[:2], "q": "m0"})
    assert response.url == reverse("inbox:list") + "?q=m0"
    assert CaughtMessage.objects.unread().count() == 1
    staff_client.post(url, {"action": "unread", "id": ids[:1]})
    assert CaughtMessage.objects.unread().count() == 2
    staff_client.post(url, {"action": "delete", "id": ids[1:]})
    assert list(CaughtMessage.objects.values_list("pk", flat=True)) == ids[:1]
    staff_client.post(url, {"action": "drop-table", "id": ids})
    assert CaughtMessage.objects.count() == 1


def test_newer_and_older_keep_the_search(staff_client: Client) -> None:
    old = store(make_email("Invoice old").as_bytes(), minutes_ago=30)
    store(make_email("Welcome").as_bytes(), minutes_ago=20)
    middle = store(make_email("Invoice middle").as_bytes(), minutes_ago=10)
    new = store(make_email("Invoice new").as_bytes())
    response = staff_client.get(reverse("inbox:detail", args=[middle.pk]), {"q": "invoice"})
    assert (response.context["newer"], response.context["older"]) == (new.pk, old.pk)
    page = response.content.decode()
    assert f'href="/inbox/{old.pk}/?q=invoice" rel="next"' in page
    response = staff_client.get(reverse("inbox:detail", args=[old.pk]))
    assert response.context["older"] is None


def test_deleting_from_a_message_goes_on_to_the_next(staff_client: Client) -> None:
    older = store(make_email("A").as_bytes(), minutes_ago=5)
    shown = store(make_email("B").as_bytes())
    response = staff_client.post(
        reverse("inbox:delete", args=[shown.pk]), {"then": older.pk, "q": "x"}
    )
    assert response.url == reverse("inbox:detail", args=[older.pk]) + "?q=x"


def test_remote_images_are_blocked_unless_asked_for(staff_client: Client) -> None:
    html = '<p>Hi <img src="https://example.com/pixel.png" alt="pixel"></p>'
    message = store(make_email("Pic", html=html).as_bytes())
    frame = reverse("inbox:html", args=[message.pk])
    assert staff_client.get(frame)["Content-Security-Policy"] == HTML_FRAME_CSP
    assert "https:" not in HTML_FRAME_CSP
    shown = staff_client.get(frame, {"images": "1"})["Content-Security-Policy"]
    assert shown == HTML_FRAME_CSP_REMOTE_IMAGES and shown.startswith(
        "sandbox allow-same-origin; default-src 'none'; script-src 'none';"
    )
    page = staff_client.get(reverse("inbox:detail", args=[message.pk]), {"images": "1"})
    assert f'src="{frame}?images=1"' in page.content.decode()
    assert "Block remote images" in page.content.decode()


def test_preview_widths(staff_client: Client) -> None:
    message = store(make_email("Wide", html="<p>x</p>").as_bytes())
    url = reverse("inbox:detail", args=[message.pk])
    assert "mail-width-phone" in staff_client.get(url, {"width": "phone"}).content.decode()
    assert "mail-width-tablet" in staff_client.get(url, {"width": "tablet"}).content.decode()
    assert "mail-width-desktop" in staff_client.get(url, {"width": "<script>"}).content.decode()


def test_image_attachments_show_thumbnails(staff_client: Client) -> None:
    mail = make_email("Files")
    mail.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="a.png")
    mail.add_attachment(b"<svg/>", maintype="image", subtype="svg+xml", filename="b.svg")
    message = store(mail.as_bytes())
    page = staff_client.get(reverse("inbox:detail", args=[message.pk]), {"tab": "attachments"})
    thumbnails = page.content.decode().count('class="thumbnail"')
    assert thumbnails == 1


def test_the_list_searches_the_body(staff_client: Client) -> None:
    store(make_email("Your order has shipped", text="Tracking 42").as_bytes())
    store(make_email("Other").as_bytes())
    page = staff_client.get(reverse("inbox:list"), {"q": "shipped order tracking"})
    assert [m.subject for m in page.context["page"]] == ["Your order has shipped"]
