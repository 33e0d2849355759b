"""Features that need email: password reset, invitations and the links they carry."""

from __future__ import annotations

from postroom import runtime
from postroom.core import links
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


@check(
    "link-address",
    "Emailed links have the site's address",
    CONFIGURATION,
    "Invitation and password reset emails carry links to Postroom. They are built from"
    " POSTROOM_BASE_URL, never from the address a browser claims to have opened.",
    docs="README.md#users-invitations-and-password-reset",
)
def link_address() -> list[Result]:
    problem = links.base_url_problem()
    if problem is not None:
        return [
            Result.error(
                "Invitations and password reset emails cannot be sent: no address for their"
                f" links ({links.SETTING} is not set or not valid).",
                problem,
            )
        ]
    configured = links.configured_base_url()
    if configured:
        return [Result.success(f"Emailed links start with {configured}.")]
    return [
        Result.info(
            "In Development, emailed links use the address this server answers on.",
            f"Set {links.SETTING} (e.g. https://mail.example.com) before going live: it is"
            " required in Production.",
        )
    ]
