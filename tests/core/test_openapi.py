"""What the send API's and the inbox API's OpenAPI descriptions share (postroom.core.jsonapi)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from postroom.inbox.tokens import create_token

pytestmark = pytest.mark.django_db

DESCRIPTIONS = ["/api/v1/openapi.json", "/api/v1/inbox/openapi.json"]


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


@pytest.mark.parametrize("url", DESCRIPTIONS)
def test_every_reference_names_a_schema_the_description_has(url: str) -> None:
    data = Client().get(url).json()
    schemas = data["components"]["schemas"]
    references = _references(data["paths"]) + _references(schemas)
    assert "#/components/schemas/Error" in references
    assert {ref.removeprefix("#/components/schemas/") for ref in references} <= set(schemas)


def test_both_apis_describe_errors_and_keys_alike() -> None:
    send, inbox = (Client().get(url).json() for url in DESCRIPTIONS)
    assert send["components"]["schemas"]["Error"] == inbox["components"]["schemas"]["Error"]
    assert send["components"]["securitySchemes"] == inbox["components"]["securitySchemes"]


def test_an_invalid_parameter_answer_has_only_described_parts() -> None:
    _, token = create_token("tests")
    answer = Client().get(
        "/api/v1/inbox/messages?per_page=x", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 422 and answer.json()["error"]["fields"]
    inbox = Client().get("/api/v1/inbox/openapi.json").json()
    described = inbox["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
    assert set(answer.json()["error"]) <= set(described)


def test_a_page_names_its_rows_and_where_it_stands() -> None:
    send, inbox = (Client().get(url).json() for url in DESCRIPTIONS)
    listing = send["paths"]["/suppressions"]["get"]["responses"]["200"]
    send_page = listing["content"]["application/json"]["schema"]["properties"]
    inbox_page = inbox["components"]["schemas"]["Page"]["properties"]
    for page, rows in ((send_page, "suppressions"), (inbox_page, "messages")):
        assert {rows, "page", "per_page", "total"} <= set(page)
        assert page[rows]["type"] == "array"
