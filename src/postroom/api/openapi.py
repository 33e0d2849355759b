"""The OpenAPI 3.1 description served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from postroom.api.validation import MAX_RECIPIENTS
from postroom.core.jsonapi import (
    described,
    described_error,
    openapi_document,
    page_schema,
    schema_ref,
)
from postroom.delivery.models import SuppressionReason

_ADDRESSES = {
    "oneOf": [
        {"type": "string", "format": "email"},
        {"type": "array", "items": {"type": "string"}, "maxItems": MAX_RECIPIENTS},
    ]
}


_SEND_REQUEST = {
    "type": "object",
    "required": ["from"],
    "additionalProperties": False,
    "properties": {
        "from": {"type": "string", "example": "Shop <shop@example.org>"},
        "to": _ADDRESSES,
        "cc": _ADDRESSES,
        "bcc": _ADDRESSES,
        "reply_to": _ADDRESSES,
        "subject": {"type": "string", "maxLength": 998},
        "text": {"type": "string"},
        "html": {"type": "string"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "attachments": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["filename", "content"],
                "properties": {
                    "filename": {"type": "string"},
                    "content": {"type": "string", "contentEncoding": "base64"},
                    "content_type": {"type": "string", "default": "application/octet-stream"},
                },
            },
        },
        "tag": {"type": "string", "maxLength": 100},
        "metadata": {"type": "object"},
    },
}


_REASONS = {"type": "string", "enum": list(SuppressionReason.values)}
_CHANGE = {
    "type": "object",
    "required": ["address"],
    "properties": {
        "address": {"type": "string", "format": "email"},
        "note": {"type": "string", "maxLength": 1000},
    },
}

_SUPPRESSIONS = {
    "get": {
        "summary": "The site's suppression list, newest first, searched and in pages",
        "parameters": [
            {
                "name": "q",
                "in": "query",
                "description": "Words each found in the address or the note.",
                "schema": {"type": "string", "maxLength": 200},
            },
            {"name": "reason", "in": "query", "schema": _REASONS},
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
            {
                "name": "per_page",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
            },
        ],
        "responses": {
            "200": described(
                "One page of the list.",
                page_schema("suppressions", "Suppression", pages={"type": "integer"}),
            ),
            "401": described_error("The key is missing or wrong."),
            "422": described_error("A parameter is invalid, or the page is past the end."),
        },
    },
    "post": {
        "summary": "Add an address: Postroom stops sending to it",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        **_CHANGE,
                        "properties": {
                            **_CHANGE["properties"],
                            "reason": {**_REASONS, "default": "manual"},
                        },
                    }
                }
            },
        },
        "responses": {
            "201": described("Added.", schema_ref("Suppression")),
            "200": described("Already listed: the entry as it is.", schema_ref("Suppression")),
            "400": described_error("The body is not a JSON object."),
            "401": described_error("The key is missing or wrong."),
            "415": described_error("The body is not application/json."),
            "422": described_error("Invalid fields, each named."),
        },
    },
    "delete": {
        "summary": "Remove an address, with a note kept in the list's history",
        "requestBody": {"required": True, "content": {"application/json": {"schema": _CHANGE}}},
        "responses": {
            "200": {"description": "Removed: mail to the address is sent again."},
            "400": described_error("The body is not a JSON object."),
            "401": described_error("The key is missing or wrong."),
            "404": described_error("The address is not on the list."),
            "415": described_error("The body is not application/json."),
            "422": described_error("Invalid fields, each named."),
        },
    },
}


def description(server: str) -> dict[str, Any]:
    return openapi_document(
        title="Postroom",
        text="Send mail through Postroom's outbox and follow its delivery.",
        url=server.rstrip("/") + "/api/v1",
        paths={
            "/messages": {
                "post": {
                    "summary": "Queue a message",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "The same key within 24 hours queues nothing new.",
                            "schema": {"type": "string", "maxLength": 255},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _SEND_REQUEST}},
                    },
                    "responses": {
                        "202": described("Queued: it is in the outbox.", schema_ref("Accepted")),
                        "400": described_error("The body is not JSON."),
                        "401": described_error("The key is missing or wrong."),
                        "403": described_error(
                            "The application may not use this sender or address."
                        ),
                        "409": described_error("The Idempotency-Key was used with another body."),
                        "413": described_error("The body is too large."),
                        "415": described_error("The body is not application/json."),
                        "422": described_error("Invalid fields, each named by its path."),
                        "429": described_error("Over the rate limit: see Retry-After."),
                    },
                }
            },
            "/messages/{id}": {
                "get": {
                    "summary": "A message's status, recipients and delivery attempts",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "The message."},
                        "401": described_error("The key is missing or wrong."),
                        "404": described_error("This application has no such message."),
                    },
                }
            },
            "/suppressions": _SUPPRESSIONS,
        },
        schemas={
            "Accepted": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "message_id": {"type": "string"},
                    "status": {"type": "string"},
                    "url": {"type": "string"},
                },
            },
            "Suppression": {
                "type": "object",
                "properties": {
                    "address": {"type": "string"},
                    "reason": _REASONS,
                    "created_at": {"type": "string", "format": "date-time"},
                    "source": {"type": "string"},
                    "note": {"type": "string"},
                    "message": {"type": ["integer", "null"]},
                    "created": {"type": "boolean"},
                },
            },
        },
    )
