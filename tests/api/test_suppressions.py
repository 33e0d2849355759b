"""GET/POST/DELETE /api/v1/suppressions: any enabled application, the whole site's list."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from postroom.applications import credentials
from postroom.applications.models import Application
from postroom.delivery.models import Suppression, SuppressionRemoval
from postroom.delivery.suppression import suppress

pytestmark = pytest.mark.django_db

URL = "/api/v1/suppressions"


def _call(method, key, data=None, query=""):
    client = Client()
    body = data if isinstance(data, str | bytes) else json.dumps(data or {})
    headers = {"Authorization": f"Bearer {key}"}
    if method == "get":
        return client.get(URL + query, headers=headers)
    return getattr(client, method)(URL, body, content_type="application/json", headers=headers)


def test_list_searches_and_pages(shop):
    for n in range(5):
        suppress(f"user{n}@example.net", "hard_bounce", note="from sendgrid" if n < 3 else "")
    suppress("ann@example.org", "manual", note="asked us")
    data = _call("get", shop[1], query="?per_page=2").json()
    assert data["total"] == 6 and data["pages"] == 3 and len(data["suppressions"]) == 2
    assert data["suppressions"][0]["address"] == "ann@example.org"  # newest first
    third = _call("get", shop[1], query="?per_page=2&page=3").json()
    assert len(third["suppressions"]) == 2 and third["page"] == 3
    found = _call("get", shop[1], query="?q=sendgrid").json()
    assert sorted(e["address"] for e in found["suppressions"]) == [
        "user0@example.net",
        "user1@example.net",
        "user2@example.net",
    ]
    manual = _call("get", shop[1], query="?reason=manual").json()
    assert [e["reason"] for e in manual["suppressions"]] == ["manual"]


@pytest.mark.parametrize("query", ["?page=9", "?page=0", "?per_page=500", "?page=x", "?reason=x"])
def test_bad_paging_is_a_named_422(shop, query):
    response = _call("get", shop[1], query=query)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] in {"page", "per_page", "reason"}


def test_add_with_reason_and_note(shop):
    response = _call(
        "post",
        shop[1],
        {"address": "Ann <Ann@Example.NET>", "reason": "complaint", "note": "told us"},
    )
    assert response.status_code == 201
    assert response.json()["address"] == "Ann@example.net" and response.json()["created"] is True
    row = Suppression.objects.get()
    assert (row.reason, row.note, row.source) == ("complaint", "told us", "api: Shop")
    again = _call("post", shop[1], {"address": "ann@example.net"})
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["reason"] == "complaint"  # the first reason stays


def test_add_defaults_to_manual(shop):
    assert _call("post", shop[1], {"address": "bob@example.net"}).json()["reason"] == "manual"


@pytest.mark.parametrize(
    "body",
    [
        {"address": "not an address"},
        {},
        {"address": "a@b.c", "reason": "whim"},
        {"address": "a@b.c", "note": 5},
    ],
)
def test_add_refuses_bad_fields(shop, body):
    response = _call("post", shop[1], body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"
    assert not Suppression.objects.exists()


def test_body_must_be_a_json_object(shop):
    assert _call("post", shop[1], "[1]").status_code == 400
    assert _call("post", shop[1], "{").status_code == 400
    form = Client().post(URL, {"address": "a@b.c"}, headers={"Authorization": f"Bearer {shop[1]}"})
    assert form.status_code == 415


def test_remove_keeps_the_note(shop):
    suppress("ann@example.net", "hard_bounce")
    response = _call("delete", shop[1], {"address": "ANN@example.net", "note": "mailbox fixed"})
    assert response.status_code == 200 and response.json()["removed"] is True
    assert not Suppression.objects.exists()
    removal = SuppressionRemoval.objects.get()
    assert (removal.note, removal.removed_by) == ("mailbox fixed", "api: Shop")
    assert _call("delete", shop[1], {"address": "ann@example.net"}).status_code == 404


def test_any_enabled_application_sees_the_whole_list(shop):
    suppress("ann@example.net", "hard_bounce")
    _, other_key = credentials.create_application("Blog", ["example.com"])
    assert _call("get", other_key).json()["total"] == 1


def test_needs_an_enabled_applications_key(shop):
    suppress("ann@example.net", "hard_bounce")
    assert _call("get", "wrong").status_code == 401
    assert _call("delete", "wrong", {"address": "ann@example.net"}).status_code == 401
    Application.objects.filter(pk=shop[0].pk).update(enabled=False)
    assert _call("get", shop[1]).status_code == 401
    assert _call("post", shop[1], {"address": "bob@example.net"}).status_code == 401
    assert Suppression.objects.count() == 1


def test_no_session_or_csrf_token_needed(shop):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        URL,
        json.dumps({"address": "bob@example.net"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {shop[1]}"},
    )
    assert response.status_code == 201


def test_other_methods_are_405(shop):
    response = Client().put(
        URL, "{}", content_type="application/json", headers={"Authorization": f"Bearer {shop[1]}"}
    )
    assert response.status_code == 405 and "DELETE" in response["Allow"]


def test_openapi_describes_the_suppressions():
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert set(paths["/suppressions"]) == {"get", "post", "delete"}
