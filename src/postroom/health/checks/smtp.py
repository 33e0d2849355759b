"""The SMTP check: the settings, then the server itself, step by step (see health.probe)."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.urls import reverse

from postroom import runtime
from postroom.config import current_smtp_settings
from postroom.delivery.enqueue import enqueue
from postroom.delivery.models import Kind
from postroom.delivery.routing import describe_destination, test_email_refusal
from postroom.health import config
from postroom.health.probe import probe
from postroom.health.probecache import FAILURE_TTL, SUCCESS_TTL, cache
from postroom.health.registry import SERVICES, Action, ActionRefused, Result, check
from postroom.health.target import Target
from postroom.mailsettings import Problem, SmtpSettings
from postroom.mailsettings.model import NONE

DOCS = "README.md#configuring-smtp"


def send_test_email(user: Any, data: Any) -> str:
    to = str(data.get("to", "")).strip()
    try:
        validate_email(to)
    except ValidationError:
        raise ActionRefused(
            f"“{to[:80]}” is not an email address. Type the address to send the test email to."
            if to
            else "Type the address to send the test email to."
        ) from None
    refusal = test_email_refusal()
    if refusal:
        raise ActionRefused(refusal)
    message = EmailMessage(
        subject="Postroom test email",
        body=(
            "This is a test email from Postroom.\n\n"
            f"It was sent by {user.email} from the Health page, and "
            f"{describe_destination()}.\n"
        ),
        to=[to],
    )
    queued = enqueue(message, kind=Kind.TEST)
    return reverse("delivery:message", args=[queued.pk])


@check(
    "smtp",
    "SMTP server",
    SERVICES,
    "Connects to the SMTP server the way delivery does: DNS, TCP, greeting, EHLO, TLS and the"
    " certificate, and the login, without sending mail. For a pickup directory: that it exists"
    " and is writable.",
    docs=DOCS,
    network=True,
    position=10,
    actions=(
        Action(
            "send-test-email",
            "Send test email",
            send_test_email,
            field="to",
            field_label="Send a test email to",
        ),
    ),
)
def smtp_check() -> list[Result]:
    return smtp_results(current_smtp_settings())


def smtp_results(
    smtp: SmtpSettings, *, use_cache: bool = True, timeout: float | None = None
) -> list[Result]:
    """The settings' problems, then the probe's steps (or the pickup directory's)."""
    results = settings_results(smtp)
    if smtp.errors:
        return results
    if not smtp.configured:
        return [*results, _not_configured(smtp)]
    if smtp.uses_pickup_directory:
        return [*results, pickup_result(Path(smtp.pickup_directory.value))]
    return results + server_results(smtp, use_cache=use_cache, timeout=timeout)


def server_results(
    smtp: SmtpSettings, *, use_cache: bool = True, timeout: float | None = None
) -> list[Result]:
    """The probe's steps against the server the settings name (cached briefly)."""
    target = Target.from_settings(smtp)
    bound = float(timeout or config.timeout_seconds())
    probed = cache.get(
        target.fingerprint(), lambda: probe(target, bound), wait=bound + 2, use_cache=use_cache
    )
    results = list(probed.results)
    if probed.cached:
        age = max(0, int(time.time() - probed.at))
        results.append(
            Result.info(
                f"These results are from {age} s ago: SMTP results are kept for"
                f" {SUCCESS_TTL:g} s after success and {FAILURE_TTL:g} s after a failure.",
                step="cache",
            )
        )
    return results


def settings_results(smtp: SmtpSettings) -> list[Result]:
    results = [_problem(Result.error, p) for p in smtp.errors]
    results += [_problem(Result.warning, p) for p in smtp.warnings]
    if not smtp.errors and smtp.configured:
        results.insert(0, Result.success(_describe(smtp), step="settings"))
    return results


def _describe(smtp: SmtpSettings) -> str:
    sender = f"From {smtp.from_address.value}"
    if smtp.uses_pickup_directory:
        where = smtp.pickup_directory.value
        return f"The settings are complete: messages are written to {where}; {sender}."
    login = f"login as {smtp.username.value}" if smtp.username.value else "no login"
    security = smtp.secure_socket_options.value
    tls = "no TLS" if security == NONE else f"SecureSocketOptions {security}"
    return (
        f"The settings are complete: {smtp.host.value}:{smtp.port.value}, {tls}, {login}; {sender}."
    )


def _problem(make: Any, problem: Problem) -> Result:
    where = problem.source + (f":{problem.line}" if problem.line else "")
    key = f" ({problem.display_key})" if problem.key else ""
    return make(f"{where}{key}: {problem.message}", problem.hint, step="settings")


def _not_configured(smtp: SmtpSettings) -> Result:
    if runtime.is_development():
        return Result.info(
            f"SMTP is not configured; in Development {describe_destination(smtp)}, so nothing"
            " leaves this machine.",
            "Before going live, set Host and From (Umbraco:CMS:Global:Smtp in appsettings.json,"
            " or <smtp> in web.config); try them first on the Try settings page.",
            step="settings",
        )
    return Result.error(
        "SMTP is not configured: mail is held until valid settings appear.",
        "Set Host and From (Umbraco:CMS:Global:Smtp in appsettings.json, or <smtp> in"
        " web.config), the password in Umbraco__CMS__Global__Smtp__Password; try them first on"
        " the Try settings page.",
        step="settings",
    )


def pickup_result(directory: Path) -> Result:
    """Whether a file can be written into the pickup directory (one is written and removed)."""
    started = time.monotonic()
    probe_file = directory / f".postroom-health-{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(probe_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        probe_file.unlink()
    except OSError as error:
        return Result.error(
            f"Could not write a file into the pickup directory {directory}:"
            f" {error.strerror or type(error).__name__}.",
            f"Create the directory (mkdir -p {directory}) and let the user Postroom runs as"
            " write to it, or point PickupDirectoryLocation elsewhere.",
            step="directory",
            duration_ms=int((time.monotonic() - started) * 1000),
        )
    return Result.success(
        f"The pickup directory {directory} exists and is writable (a test file was written and"
        " removed).",
        step="directory",
        duration_ms=int((time.monotonic() - started) * 1000),
    )
