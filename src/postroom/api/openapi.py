"""The OpenAPI 3.1 description served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from postroom.api.validation import MAX_RECIPIENTS

_ADDRESSES = {
    "oneOf": [
        {"type": "string", "format": "email"},
        {"type": "array", "items": {"type": "string"}, "maxItems": MAX_RECIPIENTS},
    ]
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
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


def description(server: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Postroom",
            "version": "1",
            "description": "Send mail through Postroom's outbox and follow its delivery.",
        },
        "servers": [{"url": server.rstrip("/") + "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
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
                        "202": {
                            "description": "Queued: it is in the outbox.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Accepted"}
                                }
                            },
                        },
                        "400": _error("The body is not JSON."),
                        "401": _error("The key is missing or wrong."),
                        "403": _error("The application may not use this sender or address."),
                        "409": _error("The Idempotency-Key was used with another body."),
                        "413": _error("The body is too large."),
                        "415": _error("The body is not application/json."),
                        "422": _error("Invalid fields, each named by its path."),
                        "429": _error("Over the rate limit: see Retry-After."),
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
                        "401": _error("The key is missing or wrong."),
                        "404": _error("This application has no such message."),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Accepted": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "message_id": {"type": "string"},
                        "status": {"type": "string"},
                        "url": {"type": "string"},
                    },
                },
                "Error": {
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
                },
            },
        },
    }
