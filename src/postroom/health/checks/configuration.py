"""The configuration's own problems, and the features that need email: password reset,
invitations and the links they carry."""

from __future__ import annotations

from postroom import runtime
from postroom.config import ERROR, Issue, current_config
from postroom.core import links
from postroom.delivery.routing import current_route, fallback_route
from postroom.health.registry import CONFIGURATION, Result, check

RESET_KEY = "Umbraco:CMS:Security:AllowPasswordReset"
RELAY_KEY = "POSTROOM_FALLBACK_SMTP_URL"
RELAY_FIX = (
    "Set POSTROOM_FALLBACK_SMTP_URL to the hosting relay, e.g."
    " smtp+starttls://user:pass@relay.example:587."
)


def _where(problem: Issue) -> str:
    place = problem.source + (f":{problem.line}" if problem.line else "")
    return f"{place} ({problem.display_key})" if problem.key else place


@check(
    "password-reset",
    "Password reset can send its email",
    CONFIGURATION,
    "When password reset is on, its email must be deliverable: otherwise people who forgot"
    " their password wait for a message that never comes.",
    docs="README.md#configuring-smtp",
)
def password_reset() -> list[Result]:
    config = current_config()
    allowed = config.security.allow_password_reset
    results = [
        Result.warning(f"{_where(problem)}: {problem.message}", problem.hint)
        for problem in config.problems_of("security", RESET_KEY)
    ]
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
    config = current_config()
    relay_problems = config.problems_of("hosting", RELAY_KEY)
    if config.smtp.configured:
        return [Result.success("Invitations go through the site's SMTP settings.")]
    if relay_problems:
        return [
            Result.error(
                "Invitations cannot be emailed: SMTP is not configured and the fallback relay's"
                f" URL is invalid. {relay_problems[0].message}",
                relay_problems[0].hint,
            )
        ]
    fallback = fallback_route()
    if fallback is not None:
        return [Result.success(f"Invitations go to {fallback.description} (no site SMTP yet).")]
    return [
        Result.warning(
            "Invitations cannot be emailed: SMTP is not configured and there is no fallback"
            " relay, so invitation links must be passed on by hand.",
            f"Configure SMTP (Umbraco:CMS:Global:Smtp), or s{RELAY_FIX[1:]}",
        )
    ]


@check(
    "configuration",
    "Configuration values are valid",
    CONFIGURATION,
    "Every value of the delivery, alerts, security, health and hosting settings can be used."
    " A value that cannot is reported here with its place and the fix, and its default applies"
    " until it is fixed (problems of the SMTP settings are reported by the SMTP check).",
    docs="README.md#configuration-reference",
)
def configuration() -> list[Result]:
    problems = [p for p in current_config().problems if p.section != "smtp"]
    results = [
        (Result.error if p.level == ERROR else Result.warning)(f"{_where(p)}: {p.message}", p.hint)
        for p in problems
    ]
    return results or [Result.success("Every configuration value can be used.")]


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
