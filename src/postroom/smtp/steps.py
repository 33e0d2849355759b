"""What the session reports after each step, for whoever watches (the health probe does)."""

from __future__ import annotations

from dataclasses import dataclass

# Outcomes of a step.
OK = "ok"  # done as asked
NOTE = "note"  # nothing wrong, but worth saying (no TLS by choice, no login)
WARN = "warn"  # it went on, but something needs attention
FAILED = "failed"  # the session stops here


@dataclass(frozen=True)
class Step:
    """One step: ``name`` is dns, connect, tls, certificate, banner, ehlo, security or auth.

    ``text`` says what happened and ``fix`` what to do about it; both are scrubbed of the
    password. ``reply`` is the server's reply when it gave one. ``elapsed_ms`` is None for
    what follows from another step (the certificate from the TLS handshake).
    """

    name: str
    outcome: str
    text: str
    fix: str = ""
    reply: str | None = None
    elapsed_ms: int | None = None
