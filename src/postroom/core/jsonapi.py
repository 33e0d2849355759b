"""Every HTTP API answer is JSON, errors included, and never cached (the send and inbox APIs)."""

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
