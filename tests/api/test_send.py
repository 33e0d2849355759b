"""POST /api/v1/messages: good, bad and repeated requests."""

from __future__ import annotations

import base64
import email
import email.policy
import json

import pytest
from django.test import Client

from api.conftest import GOOD
from postroom.api.models import ApiMessage
from postroom.applications import credentials
from postroom.applications.models import Application
from postroom.delivery.models import Kind, OutboxMessage

pytestmark = pytest.mark.django_db


def _parsed(row: OutboxMessage) -> email.message.EmailMessage:
    return email.message_from_bytes(bytes(row.raw), policy=email.policy.default)


def test_a_good_request_is_queued_with_its_application(post, shop):
    response = post(
        {
            **GOOD,
            "cc": "bob@example.net",
            "bcc": ["hidden@example.net"],
            "reply_to": "help@example.org",
            "html": "<p>Thanks!</p>",
            "headers": {"X-Order": "42"},
            "attachments": [
                {
                    "filename": "invoice.pdf",
                    "content": base64.b64encode(b"%PDF-1.4 fake").decode(),
                    "content_type": "application/pdf",
                }
            ],
            "tag": "orders",
            "metadata": {"order": 42},
        }
    )
    assert response.status_code == 202, response.content
    data = response.json()
    row = OutboxMessage.objects.get(pk=data["id"])
    assert data["message_id"] == row.message_id and row.message_id.startswith("<")
    assert response["Location"] == f"/api/v1/messages/{row.pk}"
    assert row.kind == Kind.API and row.application == shop[0]
    assert row.envelope_recipients == ("ann@example.net", "bob@example.net", "hidden@example.net")
    mime = _parsed(row)
    assert mime["From"] == "Shop <shop@example.org>" and mime["X-Order"] == "42"
    assert mime["Reply-To"] == "help@example.org" and "Bcc" not in mime
    assert mime.get_body(("plain",)).get_content().strip() == "Thanks!"
    assert mime.get_body(("html",)).get_content().strip() == "<p>Thanks!</p>"
    (attachment,) = list(mime.iter_attachments())
    assert attachment.get_filename() == "invoice.pdf"
    assert attachment.get_content() == b"%PDF-1.4 fake"
    extra = ApiMessage.objects.get(outbox=row)
    assert (extra.tag, extra.metadata) == ("orders", {"order": 42})


def test_an_html_only_message_is_html(post):
    response = post({**GOOD, "text": None, "html": "<b>Hi</b>"} | {"text": ""})
    assert response.status_code == 202, response.content
    mime = _parsed(OutboxMessage.objects.get())
    assert mime.get_content_type() == "text/html"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"from": "not an address"}, "from"),
        ({"to": ["ann@example.net", "bad"]}, "to[1]"),
        ({"to": []}, "to"),
        ({"cc": 5}, "cc"),
        ({"subject": "two\r\nBcc: x@y.z"}, "subject"),
        ({"headers": {"Bcc": "x@example.net"}}, "headers.Bcc"),
        ({"headers": {"X-Evil": "a\r\nBcc: x@example.net"}}, "headers.X-Evil"),
        ({"headers": {"Bad Name": "x"}}, "headers.Bad Name"),
        # A provider's control headers: more recipients (X-SMTPAPI "to"), other events.
        ({"headers": {"X-SMTPAPI": '{"to": ["x@example.net"]}'}}, "headers.X-SMTPAPI"),
        ({"headers": {"x-postroom-id": "0123456789abcdef01234567"}}, "headers.x-postroom-id"),
        ({"headers": {"Resent-From": "ceo@bank.example"}}, "headers.Resent-From"),
        ({"attachments": [{"filename": "a.txt", "content": "%%%"}]}, "attachments[0].content"),
        ({"attachments": [{"content": "aGk="}]}, "attachments[0].filename"),
        (
            {"attachments": [{"filename": "a", "content": "aGk=", "content_type": "x"}]},
            "attachments[0].content_type",
        ),
        ({"metadata": {"a": [1]}}, "metadata.a"),
        ({"tag": "x" * 101}, "tag"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_fields_are_422_with_their_path(post, change, field):
    response = post({**GOOD, **change})
    assert response.status_code == 422, response.content
    fields = [problem["field"] for problem in response.json()["error"]["fields"]]
    assert field in fields
    assert not OutboxMessage.objects.exists()


def test_missing_from_and_body_are_both_reported(post):
    response = post({"to": "ann@example.net"})
    assert response.status_code == 422
    fields = {problem["field"] for problem in response.json()["error"]["fields"]}
    assert {"from", "text"} <= fields


def test_not_json_is_400_and_not_an_object_is_422(post):
    assert post(b"{nope").status_code == 400
    assert post("[1, 2]").status_code == 422
    assert post(json.dumps(GOOD), content_type="text/plain").status_code == 415


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer pr_000000000000_" + "a" * 43, "Basic dXNlcjpwYXNz", "Bearer nonsense"],
)
def test_a_missing_or_wrong_key_is_401(shop, authorization):
    response = Client().post(
        "/api/v1/messages",
        json.dumps(GOOD),
        content_type="application/json",
        headers={"Authorization": authorization} if authorization else {},
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"
    assert not OutboxMessage.objects.exists()


def test_a_disabled_application_is_401(post, shop):
    Application.objects.filter(pk=shop[0].pk).update(enabled=False)
    assert post(GOOD).status_code == 401


def test_repeated_wrong_keys_from_one_address_must_wait(shop):
    client = Client()
    bad = {"Authorization": "Bearer pr_000000000000_" + "a" * 43}
    codes = [
        client.post(
            "/api/v1/messages", "{}", content_type="application/json", headers=bad
        ).status_code
        for _ in range(21)
    ]
    assert codes[:20] == [401] * 20 and codes[20] == 429
    good = client.post(
        "/api/v1/messages",
        json.dumps(GOOD),
        content_type="application/json",
        headers={"Authorization": f"Bearer {shop[1]}"},
    )
    assert good.status_code == 429 and int(good["Retry-After"]) > 0


def test_a_sender_the_application_may_not_use_is_403(post):
    response = post({**GOOD, "from": "ceo@bank.example"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "sender_not_allowed"
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    "sender",
    [
        "shop@example.org, ceo@bank.example",
        "shop@example.org <ceo@bank.example>",
        "<shop@example.org> ceo@bank.example",
    ],
)
def test_a_from_that_also_holds_another_address_is_422(post, sender):
    # parseaddr reads each as shop@example.org; the From header written would show the bank.
    response = post({**GOOD, "from": sender})
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["error"]["fields"]] == ["from"]
    assert not OutboxMessage.objects.exists()


def test_one_string_with_two_recipients_is_422_with_its_path(post):
    response = post({**GOOD, "to": ["ann@example.net", "bob@example.net, eve@example.net"]})
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["error"]["fields"]] == ["to[1]"]


def test_a_client_outside_the_networks_is_403(post, shop):
    Application.objects.filter(pk=shop[0].pk).update(client_networks=["10.0.0.0/8"])
    response = post(GOOD)  # the test client comes from 127.0.0.1
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "client_not_allowed"


def test_over_the_rate_limit_is_429_with_retry_after(post, shop):
    Application.objects.filter(pk=shop[0].pk).update(rate_limit_per_minute=2)
    codes = [post(GOOD).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    response = post(GOOD)
    assert 1 <= int(response["Retry-After"]) <= 60
    assert OutboxMessage.objects.count() == 2


def test_a_body_over_the_limit_is_413(post, monkeypatch):
    from postroom.api import views

    monkeypatch.setattr(views, "MAX_BODY_BYTES", 1000)
    big = {**GOOD, "text": "x" * 2000}
    response = post(big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_the_web_server_gives_the_api_a_larger_body_limit_than_other_routes():
    from postroom.backoffice.webserver import SMALL_BODY_BYTES, body_limit

    assert body_limit("POST", "/api/v1/messages") > 10 * 1024 * 1024
    assert body_limit("POST", "/api/v1/messages/1") == SMALL_BODY_BYTES


def test_the_same_idempotency_key_queues_once(post):
    first = post(GOOD, **{"Idempotency-Key": "order-42"})
    second = post(GOOD, **{"Idempotency-Key": "order-42"})
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert OutboxMessage.objects.count() == 1


def test_the_same_key_with_another_body_is_409(post):
    assert post(GOOD, **{"Idempotency-Key": "k"}).status_code == 202
    response = post({**GOOD, "subject": "Other"}, **{"Idempotency-Key": "k"})
    assert response.status_code == 409
    assert OutboxMessage.objects.count() == 1


def test_keys_belong_to_one_application(post):
    _, other_key = credentials.create_application("Blog", ["example.org"])
    assert post(GOOD, **{"Idempotency-Key": "k"}).status_code == 202
    assert post(GOOD, key=other_key, **{"Idempotency-Key": "k"}).status_code == 202
    assert OutboxMessage.objects.count() == 2


def test_a_key_is_free_again_after_24_hours(post):
    from datetime import timedelta

    from django.utils import timezone

    assert post(GOOD, **{"Idempotency-Key": "k"}).status_code == 202
    ApiMessage.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = post({**GOOD, "subject": "Other"}, **{"Idempotency-Key": "k"})
    assert again.status_code == 202
    assert OutboxMessage.objects.count() == 2


def test_the_chore_frees_old_keys_and_keeps_the_messages(post):
    from datetime import timedelta

    from django.utils import timezone

    from postroom.api.models import forget_old_idempotency_keys

    post(GOOD, **{"Idempotency-Key": "k"})
    assert forget_old_idempotency_keys(timezone.now() + timedelta(hours=23)) == 0
    assert forget_old_idempotency_keys(timezone.now() + timedelta(hours=25)) == 1
    assert ApiMessage.objects.get().idempotency_key == ""
    assert OutboxMessage.objects.count() == 1


def test_errors_are_json_everywhere(shop):
    client = Client()
    key = {"Authorization": f"Bearer {shop[1]}"}
    answers = {
        "no key": client.get("/api/v1/messages"),
        "wrong method": client.get("/api/v1/messages", headers=key),
        "no such address": client.get("/api/v1/nothing-here"),
        "the API's root": client.get("/api/"),
        "put": client.put("/api/v1/messages/1", headers=key),
    }
    for response in answers.values():
        assert response["Content-Type"] == "application/json"
        assert "error" in response.json()
    assert answers["no key"].status_code == 401
    assert answers["wrong method"].status_code == 405
    assert answers["no such address"].status_code == 404


def test_no_csrf_token_or_session_is_needed(shop):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/messages",
        json.dumps(GOOD),
        content_type="application/json",
        headers={"Authorization": f"Bearer {shop[1]}"},
    )
    assert response.status_code == 202
    assert "sessionid" not in response.cookies


def test_the_secret_never_appears_in_an_answer(post, shop):
    for response in (post(GOOD), post({**GOOD, "from": "x@bad.example"}), post(b"{")):
        assert shop[1] not in response.content.decode()


def test_deeply_nested_json_is_400_not_500(post):
    response = post("[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400


def test_a_lone_surrogate_is_422_with_its_path(post):
    body = json.dumps(GOOD)[:-1] + ', "html": "\\ud800"}'
    response = post(body)
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["error"]["fields"]] == ["html"]


def test_a_body_larger_than_djangos_form_limit_is_accepted(post):
    attachment = base64.b64encode(b"x" * 3_000_000).decode()  # past Django's 2.5 MB default
    response = post({**GOOD, "attachments": [{"filename": "big.bin", "content": attachment}]})
    assert response.status_code == 202, response.content
