"""Every HTTP API answer is JSON, errors included, and never cached (the send and inbox APIs).

The parts of their OpenAPI descriptions that both APIs share are built here too.
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


def answer(data: dict[str, Any], status: int = 200, **headers: str) -> JsonResponse:
    response = JsonResponse(data, status=status)
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    headers = extra.pop("headers", {})
    return answer({"error": {"code": code, "message": message, **extra}}, status, **headers)


# How the answers above are described: the parts both OpenAPI documents share, so that the
# send API and the inbox API describe their errors, pages and keys the same way.

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}


def schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def described(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A response with a JSON body."""
    return {"description": text, "content": {"application/json": {"schema": schema}}}


def described_error(text: str) -> dict[str, Any]:
    """A response whose body is ``error()``'s."""
    return described(text, schema_ref("Error"))


def page_schema(items: str, item_schema: str, **more: dict[str, Any]) -> dict[str, Any]:
    """One page of a list: the rows under ``items``, with where the page stands."""
    return {
        "type": "object",
        "properties": {
            items: {"type": "array", "items": schema_ref(item_schema)},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
            **more,
        },
    }


def openapi_document(
    *, title: str, text: str, url: str, paths: dict[str, Any], schemas: dict[str, Any]
) -> dict[str, Any]:
    """An OpenAPI 3.1 document for an API whose callers send a bearer token."""
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1", "description": text},
        "servers": [{"url": url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {**schemas, "Error": ERROR_SCHEMA},
        },
    }
