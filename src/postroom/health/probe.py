"""The SMTP probe: talk to the server the way delivery will, step by step, without sending mail.

It opens the same SMTP session the delivery worker opens (postroom.smtp): DNS, TCP connect,
TLS (implicit or STARTTLS) with the certificate's validity, the 220 greeting, EHLO, AUTH, then
QUIT. The session stops at the first failed step, within one deadline, and reports each step;
each becomes a :class:`Result` here.
"""

from __future__ import annotations

from postroom.health.registry import ERROR, INFO, SUCCESS, WARNING, Result
from postroom.health.target import Target
from postroom.smtp import FAILED, NOTE, OK, WARN, Session, SmtpFailure, Step

STEP_LABELS = {
    "settings": "Settings",
    "dns": "DNS",
    "connect": "Connect",
    "tls": "TLS",
    "certificate": "Certificate",
    "banner": "Greeting",
    "ehlo": "EHLO",
    "auth": "Login",
    "security": "Security",
    "directory": "Pickup directory",
    "spf": "SPF",
    "dmarc": "DMARC",
    "cache": "Cache",
}
_STATUS = {OK: SUCCESS, NOTE: INFO, WARN: WARNING, FAILED: ERROR}


def probe(target: Target, timeout: float) -> list[Result]:
    """Run every step against ``target`` within ``timeout`` seconds; never raises for the
    server's sake (refusals, timeouts, bad certificates all become results)."""
    results: list[Result] = []
    seen: set[str] = set()

    def record(step: Step) -> None:
        if step.name in seen and step.outcome == OK:
            return  # EHLO said again after STARTTLS: the first one listed the extensions
        seen.add(step.name)
        text = step.text
        if step.name == "auth" and step.outcome == OK:
            text = text.removesuffix(".") + " (no mail was sent)."
        results.append(
            Result(
                _STATUS[step.outcome], text, step.fix, step=step.name, duration_ms=step.elapsed_ms
            )
        )

    session = Session(target.server(timeout), on_step=record, deadline=timeout)
    try:
        session.open()
    except SmtpFailure:
        pass  # reported through record()
    finally:
        session.close()
    return results
