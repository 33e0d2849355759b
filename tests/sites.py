"""Site settings for tests: an appsettings.json that points Postroom at a test server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


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
