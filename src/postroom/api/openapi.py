"""The OpenAPI 3.1 description served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from postroom.api.validation import MAX_RECIPIENTS
from postroom.delivery.models import SuppressionReason

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


_REASONS = {"type": "string", "enum": list(SuppressionReason.values)}
_CHANGE = {
    "type": "object",
    "required": ["address"],
    "properties": {
        "address": {"type": "string", "format": "email"},
        "note": {"type": "string", "maxLength": 1000},
    },
}
_ENTRY_RESPONSE = {
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Suppression"}}}
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
            "200": {
                "description": "One page of the list.",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "suppressions": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Suppression"},
                                },
                                "page": {"type": "integer"},
                                "per_page": {"type": "integer"},
                                "total": {"type": "integer"},
                                "pages": {"type": "integer"},
                            },
                        }
                    }
                },
            },
            "401": _error("The key is missing or wrong."),
            "422": _error("A parameter is invalid, or the page is past the end."),
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
            "201": {"description": "Added.", **_ENTRY_RESPONSE},
            "200": {"description": "Already listed: the entry as it is.", **_ENTRY_RESPONSE},
            "400": _error("The body is not a JSON object."),
            "401": _error("The key is missing or wrong."),
            "415": _error("The body is not application/json."),
            "422": _error("Invalid fields, each named."),
        },
    },
    "delete": {
        "summary": "Remove an address, with a note kept in the list's history",
        "requestBody": {"required": True, "content": {"application/json": {"schema": _CHANGE}}},
        "responses": {
            "200": {"description": "Removed: mail to the address is sent again."},
            "400": _error("The body is not a JSON object."),
            "401": _error("The key is missing or wrong."),
            "404": _error("The address is not on the list."),
            "415": _error("The body is not application/json."),
            "422": _error("Invalid fields, each named."),
        },
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
            "/suppressions": _SUPPRESSIONS,
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
