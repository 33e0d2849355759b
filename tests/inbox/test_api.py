"""The inbox API: list, search, one message with its parts and links, source, delete."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from django.test import Client

from emails import make_email
from postroom.inbox.models import CaughtMessage
from postroom.inbox.tokens import create_token

from .conftest import store

pytestmark = pytest.mark.django_db

API = "/api/v1/inbox"


@pytest.fixture
def api(client: Client) -> Client:
    _, token = create_token("tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def _raw(message: EmailMessage) -> bytes:
    return message.as_bytes().replace(b"\n", b"\r\n")


def _with_attachment() -> bytes:
    message = make_email(
        "Your invoice",
        to="buyer@example.com",
        text="Pay at https://shop.example.com/pay?id=7.\nThanks",
        html='<p><a href="https://shop.example.com/pay?id=7">Pay</a>'
        '<img src="https://cdn.example.com/logo.png" alt="Shop"></p>',
    )
    message.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf",
                           filename="invoice.pdf")  # fmt: skip
    return _raw(message)


def test_list_pages_newest_first_and_searches(api: Client) -> None:
    for number in range(3):
        store(_raw(make_email(f"Message {number}")), minutes_ago=10 - number)
    store(_raw(make_email("Order shipped", to="buyer@example.com")), recipients=["b@example.com"])

    page = api.get(f"{API}/messages", {"per_page": 2, "page": 1}).json()
    assert page["total"] == 4 and page["per_page"] == 2
    assert [m["subject"] for m in page["messages"]] == ["Order shipped", "Message 2"]
    second = api.get(f"{API}/messages", {"per_page": 2, "page": 2}).json()
    assert [m["subject"] for m in second["messages"]] == ["Message 1", "Message 0"]

    found = api.get(f"{API}/messages", {"q": "shipped"}).json()
    assert found["total"] == 1 and found["query"] == "shipped"
    summary = found["messages"][0]
    assert summary["envelope_recipients"] == ["b@example.com"]
    assert summary["url"] == f"{API}/messages/{summary['id']}"
    assert "raw" not in summary


@pytest.mark.parametrize(("name", "value"), [("page", "0"), ("page", "x"), ("per_page", "201")])
def test_invalid_paging_is_a_422_naming_the_parameter(api: Client, name: str, value: str) -> None:
    response = api.get(f"{API}/messages", {name: value})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == name


def test_one_message_has_headers_bodies_attachments_and_links(api: Client) -> None:
    message = store(_with_attachment(), recipients=["buyer@example.com"])
    response = api.get(f"{API}/messages/{message.pk}")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    data = response.json()
    assert data["subject"] == "Your invoice"
    assert {"name": "Subject", "value": "Your invoice"} in data["headers"]
    assert "Pay at https://shop.example.com/pay?id=7." in data["text"]
    assert '<a href="https://shop.example.com/pay?id=7">' in data["html"]
    [attachment] = data["attachments"]
    assert attachment["filename"] == "invoice.pdf"
    assert attachment["content_type"] == "application/pdf"
    assert attachment["url"] == f"{API}/messages/{message.pk}/attachments/0"
    assert data["links"] == [
        {"url": "https://shop.example.com/pay?id=7", "kind": "link", "found_in": "html"},
        {"url": "https://cdn.example.com/logo.png", "kind": "image", "found_in": "html"},
    ]

    pdf = api.get(attachment["url"])
    assert pdf.status_code == 200 and b"".join(pdf) == b"%PDF-1.4 fake"
    source = api.get(data["source_url"])
    assert source["Content-Type"].startswith("message/rfc822")
    assert b"".join(source) == bytes(CaughtMessage.objects.get(pk=message.pk).raw)


def test_text_only_links_come_from_the_text(api: Client) -> None:
    text = "Confirm: https://site.example/confirm/abc123.\n(Or https://site.example/help)"
    message = store(_raw(make_email("Confirm", text=text)))
    data = api.get(f"{API}/messages/{message.pk}").json()
    assert data["html"] is None
    assert [link["url"] for link in data["links"]] == [
        "https://site.example/confirm/abc123",
        "https://site.example/help",
    ]


def test_missing_message_and_attachment_are_json_404s(api: Client) -> None:
    message = store(_raw(make_email()))
    for path in (
        "messages/999999",
        "messages/999999/source",
        f"messages/{message.pk}/attachments/3",
    ):
        response = api.get(f"{API}/{path}")
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    unknown = api.get(f"{API}/nothing/here")
    assert unknown.status_code == 404 and "openapi.json" in unknown.json()["error"]["message"]


def test_delete_one_then_all(api: Client) -> None:
    first, second, third = (store(_raw(make_email(f"M{n}"))) for n in range(3))
    assert api.delete(f"{API}/messages/{first.pk}").json() == {"deleted": 1}
    assert api.delete(f"{API}/messages/{first.pk}").status_code == 404
    assert api.delete(f"{API}/messages").json() == {"deleted": 2}
    assert not CaughtMessage.objects.exists()


def test_wrong_method_is_a_405_with_allow(api: Client) -> None:
    response = api.post(f"{API}/messages")
    assert response.status_code == 405
    assert response["Allow"] == "GET, DELETE"


def test_openapi_description_lists_every_endpoint_without_a_token(client: Client) -> None:
    data = client.get(f"{API}/openapi.json").json()
    assert data["openapi"] == "3.1.0"
    assert data["servers"] == [{"url": "http://testserver/api/v1/inbox"}]
    assert set(data["paths"]) == {
        "/messages",
        "/messages/{id}",
        "/messages/{id}/source",
        "/messages/{id}/attachments/{index}",
        "/wait",
    }
    assert data["paths"]["/wait"]["get"]["parameters"][2]["schema"]["maximum"] == 30
