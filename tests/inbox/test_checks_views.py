"""The checks page of a caught message, and releasing it to a real server."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from emails import make_email
from postroom.delivery.models import Kind, OutboxMessage
from postroom.inbox import linkcheck
from postroom.inbox.models import CaughtMessage
from sites import use_smtp_server

from .conftest import store

pytestmark = pytest.mark.django_db

HTML = (
    '<html><body><script>x()</script><a href="https://shop.test/order/1">Order</a>'
    '<img src="https://cdn.test/logo.png"><a href="mailto:help@shop.test">Help</a></body></html>'
)


def _message() -> CaughtMessage:
    raw = make_email("Your order", text="Track it at https://track.test/1.", html=HTML)
    return store(raw.as_bytes(), recipients=["buyer@example.com", "copy@example.com"])


def test_the_message_page_links_to_checks_and_release(staff_client: Client) -> None:
    message = _message()
    body = staff_client.get(reverse("inbox:detail", args=[message.pk])).content.decode()
    assert reverse("inbox:checks", args=[message.pk]) in body
    assert reverse("inbox:release", args=[message.pk]) in body


def test_checks_list_findings_with_explanations_and_every_link(staff_client: Client) -> None:
    message = _message()
    body = staff_client.get(reverse("inbox:checks", args=[message.pk])).content.decode()
    assert 'data-finding="script"' in body and "nothing in them will run" in body
    assert 'data-finding="image-without-alt"' in body
    assert 'data-finding="no-text-part"' not in body
    for url in ("https://shop.test/order/1", "https://cdn.test/logo.png",
                "mailto:help@shop.test", "https://track.test/1"):  # fmt: skip
        assert url in body
    assert "Check 3 web links" in body


def test_a_text_only_message_has_nothing_to_check_in_html(staff_client: Client) -> None:
    message = store(make_email("Plain", text="No links here").as_bytes())
    body = staff_client.get(reverse("inbox:checks", args=[message.pk])).content.decode()
    assert "no HTML part" in body and "No links or images." in body


def test_checking_links_shows_each_status(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[list[str]] = []

    def fake(urls: list[str]) -> list[linkcheck.LinkStatus]:
        asked.append(list(urls))
        return [linkcheck.LinkStatus(u, 404 if "cdn" in u else 200, "x", "cdn" not in u)
                for u in urls]  # fmt: skip

    monkeypatch.setattr(linkcheck, "check_links", fake)
    message = _message()
    response = staff_client.post(reverse("inbox:checks", args=[message.pk]))
    body = response.content.decode()
    assert asked == [
        ["https://shop.test/order/1", "https://cdn.test/logo.png", "https://track.test/1"]
    ]  # never mailto:
    assert "1 of 3 web links did not answer with success." in body
    assert body.count("badge-failed") == 1 and body.count("badge-sent") == 2
    assert "not a web address" in body


def test_checks_and_release_are_for_administrators_only(client: Client, editor) -> None:
    message = _message()
    client.force_login(editor)
    for name in ("checks", "release"):
        assert client.get(reverse(f"inbox:{name}", args=[message.pk])).status_code == 403
        assert client.post(reverse(f"inbox:{name}", args=[message.pk])).status_code == 403
    assert not OutboxMessage.objects.exists()


def test_release_is_refused_without_an_smtp_server(staff_client: Client) -> None:
    message = _message()
    url = reverse("inbox:release", args=[message.pk])
    body = staff_client.get(url).content.decode()
    assert "Cannot release." in body and "No SMTP server is configured" in body
    assert 'id="release-form"' not in body
    staff_client.post(url, {"recipients": "someone@example.org"})
    assert not OutboxMessage.objects.exists()


def test_release_asks_first_then_queues_through_the_smtp_server(
    staff_client: Client, isolated_site: Path
) -> None:
    use_smtp_server(isolated_site, 2599)
    message = _message()
    url = reverse("inbox:release", args=[message.pk])
    body = staff_client.get(url).content.decode()
    assert "127.0.0.1:2599" in body
    assert 'value="buyer@example.com, copy@example.com"' in body
    assert not OutboxMessage.objects.exists()  # the GET only asks

    response = staff_client.post(url, {"recipients": "real@example.org; other@example.org"})
    row = OutboxMessage.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("delivery:message", args=[row.pk])
    assert row.kind == Kind.RELEASE and row.envelope_recipients == (
        "real@example.org",
        "other@example.org",
    )
    assert row.sender == "app@example.com"
    assert row.message_id != "<test@example.com>" and row.message_id.encode() in bytes(row.raw)
    assert b"Subject: Your order" in bytes(row.raw)
    assert b"<test@example.com>" not in bytes(row.raw)


def test_release_to_a_bad_address_says_which(staff_client: Client, isolated_site: Path) -> None:
    use_smtp_server(isolated_site, 2599)
    message = _message()
    response = staff_client.post(
        reverse("inbox:release", args=[message.pk]), {"recipients": "ok@example.org, nope"}
    )
    assert response.status_code == 400
    assert "“nope” is not an email address." in response.content.decode()
    assert not OutboxMessage.objects.exists()
