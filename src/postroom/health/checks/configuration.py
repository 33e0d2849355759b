"""Features that need email: password reset and invitations."""

from __future__ import annotations

from postroom import runtime
from postroom.delivery.routing import current_route, fallback_route
from postroom.health.registry import CONFIGURATION, Result, check
from postroom.mailsettings import current_smtp_settings, read_bool

RESET_KEY = "Umbraco:CMS:Security:AllowPasswordReset"


@check(
    "password-reset",
    "Password reset can send its email",
    CONFIGURATION,
    "When password reset is on, its email must be deliverable: otherwise people who forgot"
    " their password wait for a message that never comes.",
    docs="README.md#configuring-smtp",
)
def password_reset() -> list[Result]:
    allowed, problem = read_bool(RESET_KEY, False)
    results = []
    if problem is not None:
        results.append(Result.warning(f"{problem.source}: {problem.message}", problem.hint))
    if not allowed.value:
        results.append(
            Result.info(
                "Password reset is off (default).",
                f"To turn it on, set {RESET_KEY} to true once SMTP works.",
            )
        )
        return results
    route = current_route()
    if route is None or (route.development_inbox and not runtime.is_development()):
        results.append(
            Result.error(
                f"Password reset is on ({allowed.origin}) but email cannot be sent: SMTP is not"
                " configured, so reset emails are held and nobody receives them.",
                f"Configure SMTP (Umbraco:CMS:Global:Smtp), or set {RESET_KEY} to false until"
                " it works.",
            )
        )
    elif route.development_inbox:
        results.append(
            Result.info(
                "Password reset is on; in Development its emails go to the development inbox.",
                "Configure SMTP before going live.",
            )
        )
    else:
        results.append(
            Result.success(f"Password reset is on; its emails go to {route.description}.")
        )
    return results


@check(
    "invitations",
    "Invitations can be emailed",
    CONFIGURATION,
    "Invitations go through the site's SMTP server, or the hosting relay when there is none;"
    " with neither, invitation links must be passed on by hand.",
    docs="README.md#which-transport-carries-mail",
)
def invitations() -> list[Result]:
    if current_smtp_settings().configured:
        return [Result.success("Invitations go through the site's SMTP settings.")]
    fallback = fallback_route()
    if fallback is not None:
        return [Result.success(f"Invitations go to {fallback.description} (no site SMTP yet).")]
    return [
        Result.warning(
            "Invitations cannot be emailed: SMTP is not configured and there is no fallback"
            " relay, so invitation links must be passed on by hand.",
            "Configure SMTP (Umbraco:CMS:Global:Smtp), or set POSTROOM_FALLBACK_SMTP_URL to the"
            " hosting relay, e.g. smtp+starttls://user:pass@relay.example:587.",
        )
    ]
