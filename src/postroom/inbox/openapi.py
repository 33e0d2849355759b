"""The OpenAPI 3.1 description of the inbox API, served at ``/api/v1/inbox/openapi.json``."""

from __future__ import annotations

from typing import Any

from postroom.core.jsonapi import (
    described,
    described_error,
    openapi_document,
    page_schema,
    schema_ref,
)

_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _json(text: str, schema: str) -> dict[str, Any]:
    return described(text, schema_ref(schema))


def _query(name: str, text: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": text, "schema": schema}


_UNAUTHORIZED = described_error("The token is missing or wrong.")
_NOT_FOUND = described_error("No such message (or attachment).")

_SUMMARY = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "received_at": {"type": "string", "format": "date-time"},
        "from": {"type": "string"},
        "to": {"type": "string"},
        "envelope_sender": {"type": "string"},
        "envelope_recipients": {"type": "array", "items": {"type": "string"}},
        "subject": {"type": "string"},
        "message_id": {"type": "string"},
        "size": {"type": "integer"},
        "has_attachments": {"type": "boolean"},
        "preview": {"type": "string"},
        "url": {"type": "string"},
    },
}

_MESSAGE = {
    "allOf": [
        {"$ref": "#/components/schemas/Summary"},
        {
            "type": "object",
            "properties": {
                "cc": {"type": "string"},
                "date": {"type": "string"},
                "headers": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
                    },
                },
                "text": {"type": ["string", "null"]},
                "html": {"type": ["string", "null"]},
                "attachments": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "index": {"type": "integer"},
                            "filename": {"type": "string"},
                            "content_type": {"type": "string"},
                            "size": {"type": "integer"},
                            "inline": {"type": "boolean"},
                            "content_id": {"type": "string"},
                            "url": {"type": "string"},
                        },
                    },
                },
                "links": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "url": {"type": "string"},
                            "kind": {"enum": ["link", "image"]},
                            "found_in": {"enum": ["html", "text"]},
                        },
                    },
                },
                "source_url": {"type": "string"},
            },
        },
    ]
}


def _paths(max_per_page: int, max_wait: float) -> dict[str, Any]:
    return {
        "/messages": {
            "get": {
                "summary": "Caught messages, newest first, a page at a time",
                "parameters": [
                    _query("q", "Search words.", {"type": "string", "maxLength": 200}),
                    _query("page", "From 1.", {"type": "integer", "minimum": 1}),
                    _query(
                        "per_page",
                        "Messages per page.",
                        {"type": "integer", "minimum": 1, "maximum": max_per_page},
                    ),
                ],
                "responses": {
                    "200": _json("A page of messages.", "Page"),
                    "401": _UNAUTHORIZED,
                    "422": described_error("A parameter is invalid."),
                },
            },
            "delete": {
                "summary": "Delete every caught message",
                "responses": {"200": _json("How many were deleted.", "Deleted")},
            },
        },
        "/messages/{id}": {
            "parameters": [_ID],
            "get": {
                "summary": "One message: headers, text, HTML, attachments and links",
                "responses": {
                    "200": _json("The message.", "Message"),
                    "401": _UNAUTHORIZED,
                    "404": _NOT_FOUND,
                },
            },
            "delete": {
                "summary": "Delete one message",
                "responses": {"200": _json("Deleted.", "Deleted"), "404": _NOT_FOUND},
            },
        },
        "/messages/{id}/source": {
            "get": {
                "summary": "The raw message as received (.eml)",
                "parameters": [_ID],
                "responses": {
                    "200": {"description": "message/rfc822", "content": {"message/rfc822": {}}},
                    "404": _NOT_FOUND,
                },
            }
        },
        "/messages/{id}/attachments/{index}": {
            "get": {
                "summary": "One attachment, decoded",
                "parameters": [
                    _ID,
                    {
                        "name": "index",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    },
                ],
                "responses": {"200": {"description": "The attachment."}, "404": _NOT_FOUND},
            }
        },
        "/wait": {
            "get": {
                "summary": "Wait for a message to arrive",
                "description": "Answers the newest message matching every filter given as soon "
                "as there is one (already caught ones included, unless `after` is given), or 404 "
                "after `timeout` seconds.",
                "parameters": [
                    _query("to", "Part of a recipient's address.", {"type": "string"}),
                    _query("subject", "Part of the subject.", {"type": "string"}),
                    _query(
                        "timeout",
                        "Seconds to wait.",
                        {"type": "number", "minimum": 0, "maximum": max_wait, "default": 10},
                    ),
                    _query("after", "Only messages with a greater id.", {"type": "integer"}),
                ],
                "responses": {
                    "200": _json("The message.", "Message"),
                    "401": _UNAUTHORIZED,
                    "404": described_error("Nothing matching arrived in time."),
                    "422": described_error("A parameter is invalid."),
                    "503": described_error("Too many waits at once: see Retry-After."),
                },
            }
        },
    }


def description(server: str, max_per_page: int = 200, max_wait: float = 30.0) -> dict[str, Any]:
    return openapi_document(
        title="Postroom inbox",
        text="Read the development inbox from the test suite of a site that "
        "sends mail: find a message, its links and attachments, and wait for one.",
        url=server.rstrip("/") + "/api/v1/inbox",
        paths=_paths(max_per_page, max_wait),
        schemas={
            "Summary": _SUMMARY,
            "Message": _MESSAGE,
            "Page": page_schema("messages", "Summary", query={"type": "string"}),
            "Deleted": {"type": "object", "properties": {"deleted": {"type": "integer"}}},
        },
    )
