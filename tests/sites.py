"""A site for tests: an appsettings.json that points Postroom at a test server, and its mail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.mail import EmailMessage

from postroom.delivery.enqueue import enqueue


def use_smtp_server(
    site: Path,
    port: int,
    sender: str = "site@example.org",
    timeout: float | None = None,
    **smtp: Any,
) -> None:
    """Send through 127.0.0.1:``port`` without TLS; ``smtp`` adds or overrides Smtp keys."""
    settings: dict[str, Any] = {
        "Umbraco": {
            "CMS": {
                "Global": {
                    "Smtp": {
                        "From": sender,
                        "Host": "127.0.0.1",
                        "Port": port,
                        "SecureSocketOptions": "None",
                        **smtp,
                    }
                }
            }
        }
    }
    if timeout is not None:
        settings["Postroom"] = {"Smtp": {"TimeoutSeconds": timeout}}
    (site / "appsettings.json").write_text(json.dumps(settings))


def queue_mail(n: int = 1, to=("someone@example.net",), kind="form", channel="site") -> list:
    """Queue ``n`` messages "Message 0", "Message 1", ... through the outbox."""
    return [
        enqueue(EmailMessage(f"Message {i}", "Body", to=list(to)), kind=kind, channel=channel)
        for i in range(n)
    ]
