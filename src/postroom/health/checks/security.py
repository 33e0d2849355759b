"""Settings that protect the backoffice and the SMTP password."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from django.conf import settings

from postroom import runtime
from postroom.config import current_smtp_settings
from postroom.health.registry import SECURITY, Result, check

MIN_SECRET_KEY_LENGTH = 50
PLACEHOLDER_KEYS = {
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "secretkey",
    "secret-key",
    "secret_key",
    "your-secret-key",
    "your-secret-key-here",
    "replace-me",
    "insecure",
    "development",
    "postroom",
}
_PASSWORD_VALUE = re.compile(r"""password"?\s*[:=]\s*["'][^"'\s]""", re.IGNORECASE)
_CONFIG_SOURCE = re.compile(r"""configSource\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
MAX_BYTES = 1024 * 1024
DOCS = "README.md#environment-variables"


def _production() -> bool:
    return runtime.environment_name() == runtime.PRODUCTION


@check(
    "security-debug",
    "Debug mode is off in Production",
    SECURITY,
    "Django's debug pages show settings, code and data to whoever causes an error.",
    docs="README.md#where-postroom-keeps-things",
)
def debug_mode() -> list[Result]:
    if not settings.DEBUG:
        return [Result.success("DEBUG is off.")]
    if _production():
        return [
            Result.error(
                "DEBUG is on in Production: error pages show settings and code to anyone.",
                "Unset POSTROOM_DEBUG (or set it to 0) and restart Postroom.",
            )
        ]
    return [Result.info("DEBUG is on (fine in Development, never in Production).")]


@check(
    "security-secret-key",
    "The secret key is secret",
    SECURITY,
    "Django signs sessions and password-reset links with the secret key; a default or short"
    " one lets others forge them.",
    docs="README.md#where-postroom-keeps-things",
)
def secret_key() -> list[Result]:
    key = str(settings.SECRET_KEY or "")
    problem = ""
    if key.startswith("django-insecure-"):
        problem = "is Django's insecure development key (django-insecure-…)"
    elif key.strip().lower() in PLACEHOLDER_KEYS:
        problem = "is a placeholder value"
    elif len(key) < MIN_SECRET_KEY_LENGTH:
        problem = f"is only {len(key)} characters long (at least {MIN_SECRET_KEY_LENGTH} needed)"
    elif len(set(key)) < 5:
        problem = "has fewer than 5 different characters"
    if not problem:
        return [Result.success("The secret key is long and not a known default.")]
    fix = (
        "Unset POSTROOM_SECRET_KEY to use the random key Postroom generates in its data directory,"
        " or set it to a long random value, e.g. the output of"
        " python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )
    make = Result.error if _production() else Result.warning
    return [make(f"The secret key (POSTROOM_SECRET_KEY) {problem}.", fix)]


def _site_files(site: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(site))
    except OSError:
        return []
    found = []
    for name in names:
        lower = name.lower()
        if lower == "web.config" or (lower.startswith("appsettings") and lower.endswith(".json")):
            found.append(site / name)
    return found


def _read(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return ""


def password_files() -> list[Path]:
    """Configuration files in the site directory that hold an SMTP (or other) password."""
    site = runtime.site_dir()
    candidates = _site_files(site)
    for path in list(candidates):
        if path.name.lower() == "web.config":
            for source in _CONFIG_SOURCE.findall(_read(path)):
                relative = source.replace("\\", "/").strip()
                included = (site / relative).resolve()
                if included.is_relative_to(site) and included.is_file():
                    candidates.append(included)
    origin = current_smtp_settings().password.origin or ""
    if origin and not origin.startswith(("env:", "default")):
        file_name = re.sub(r":\d+$", "", origin)
        from_origin = (site / file_name).resolve()
        if from_origin.is_file() and from_origin.is_relative_to(site):
            candidates.append(from_origin)
    unique = list(dict.fromkeys(path.resolve() for path in candidates))
    return [path for path in unique if _PASSWORD_VALUE.search(_read(path))]


@check(
    "security-config-files",
    "Files with a password are private",
    SECURITY,
    "A configuration file that holds the SMTP password must not be readable by every user on"
    " the machine; better still, keep the password in the environment.",
    docs=DOCS,
)
def config_files() -> list[Result]:
    files = password_files()
    if not files:
        return [
            Result.success(
                "No configuration file in the site directory holds a password (keep it in"
                " Umbraco__CMS__Global__Smtp__Password)."
            )
        ]
    if os.name == "nt":
        return [Result.info("File permissions are not checked on Windows.")]
    results = []
    for path in files:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & 0o004:
            results.append(
                Result.warning(
                    f"{path} holds a password and every user on this machine can read it"
                    f" (mode {mode:o}).",
                    f"chmod 640 {path} — or move the password into the environment variable"
                    " Umbraco__CMS__Global__Smtp__Password and remove it from the file.",
                )
            )
    if results:
        return results
    names = ", ".join(path.name for path in files)
    return [
        Result.success(
            f"{names} hold{'s' if len(files) == 1 else ''} a password and"
            f" {'is' if len(files) == 1 else 'are'} not readable by other users.",
            fix="The environment variable Umbraco__CMS__Global__Smtp__Password is safer still.",
        )
    ]


@check(
    "security-cookies",
    "Cookies are sent over HTTPS only in Production",
    SECURITY,
    "Without the Secure flag, the login cookie also travels over plain HTTP, where others can"
    " read it and take over the session.",
    docs="README.md#where-postroom-keeps-things",
)
def secure_cookies() -> list[Result]:
    secure = settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    if secure:
        return [Result.success("Session and CSRF cookies are sent over HTTPS only.")]
    if _production():
        return [
            Result.warning(
                "Session cookies are also sent over plain HTTP in Production.",
                "Serve the backoffice over HTTPS and unset POSTROOM_SECURE_COOKIES (it is on by"
                " default in Production).",
            )
        ]
    return [Result.info("Secure cookies are off in Development (on by default in Production).")]


@check(
    "security-data-dir",
    "The data directory is private",
    SECURITY,
    "The data directory holds the database (every message, user and password hash) and the"
    " secret key; other users on this machine must not be able to read it.",
    docs="README.md#where-postroom-keeps-things",
)
def data_dir_private() -> list[Result]:
    if os.name == "nt":
        return [Result.info("File permissions are not checked on Windows.")]
    from postroom.startup import sqlite_files

    data = Path(settings.DATA_DIR)
    exposed = runtime.readable_by_others([data, *sqlite_files(), data / "secret_key"])
    if not exposed:
        return [Result.success(f"{data} and the database in it are readable by Postroom only.")]
    return [
        Result.warning(
            f"{path} can be {'entered' if path.is_dir() else 'read'} by other users on this"
            f" machine (mode {mode:o}).",
            f"chmod {'700' if path.is_dir() else '600'} {path} (Postroom also does this when it"
            " starts).",
        )
        for path, mode in exposed
    ]
