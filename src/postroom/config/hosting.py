"""The hosting variables: set by whoever runs Postroom, read from the environment only
(through :mod:`postroom.config.environ`). Django's settings module takes its values from
:func:`read_hosting`."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dj_database_url

from postroom import redact
from postroom.config.environ import (
    DEVELOPMENT,
    PRODUCTION,
    EnvReader,
    data_dir,
    environment_name,
    process_environ,
    site_dir,
    variable,
)
from postroom.config.model import INBOX, RELAY, SERVE, WARNING, WEB, WORKER, Hosting, Issue
from postroom.config.urls import (
    FALLBACK_EXAMPLE,
    FallbackUrlError,
    RedactedUrl,
    parse_fallback_url,
)
from postroom.mailsettings import convert
from postroom.mailsettings.fields import sender_address
from postroom.mailsettings.model import Secret, Setting

DEFAULT = "default"
ALL_PARTS = (WEB, WORKER, INBOX, RELAY, SERVE)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "[::1]")
LEASE_RANGE = (1.0, 86_400.0)
__all__ = [
    "DEVELOPMENT",
    "PRODUCTION",
    "data_dir",
    "database",
    "environment_name",
    "process_environ",
    "read_hosting",
    "secret_key",
    "site_dir",
    "upload_storage",
    "variable",
]


def read_hosting(environ: Mapping[str, str] | None = None) -> tuple[Hosting, list[Issue]]:
    """Every hosting variable, validated; problems are returned, never raised."""
    environ = process_environ() if environ is None else environ
    for name, value in environ.items():  # secret-named variables are masked in every log line
        redact.remember_variable(name, value)
    issues: list[Issue] = []
    env = EnvReader(environ, issues)
    environment = environment_name(environ)
    data = data_dir(environ)
    hosting = Hosting(
        environment=_environment(env, environment, site_dir(environ)),
        site_dir=Setting(
            site_dir(environ),
            env.origin("POSTROOM_SITE")
            if environ.get("POSTROOM_SITE")
            else "default (the current directory)",
        ),
        data_dir=Setting(
            data, env.origin("POSTROOM_DATA") if environ.get("POSTROOM_DATA") else DEFAULT
        ),
        database_url=_database_url(env, data),
        host=_host(env, "POSTROOM_HOST", (WEB, SERVE)),
        port=env.number(
            "POSTROOM_PORT",
            8000,
            0,
            65535,
            "Set POSTROOM_PORT to the port the backoffice listens on, e.g. 8000.",
            (WEB, SERVE),
        ),
        inbox_host=_host(env, "POSTROOM_INBOX_HOST", (INBOX, SERVE)),
        inbox_port=env.number(
            "POSTROOM_INBOX_PORT",
            2525,
            0,
            65535,
            "Set POSTROOM_INBOX_PORT to the development catcher's SMTP port, e.g. 2525.",
            (INBOX, SERVE),
        ),
        **_relay(env, environment),
        base_url=_base_url(env, environment),
        trusted_proxy=_trusted_proxy(env),
        lease_seconds=env.number(
            "POSTROOM_LEASE_SECONDS",
            300.0,
            *LEASE_RANGE,
            "Write the lease as a number of seconds: POSTROOM_LEASE_SECONDS=300 for five"
            " minutes, or remove it for the default of 300.",
            (WORKER, SERVE),
            whole=False,
        ),
        fallback_smtp_url=_fallback_url(env),
        fallback_from=_fallback_from(env),
        metrics_token=_metrics_token(env),
        allowed_hosts=_list(env, "POSTROOM_ALLOWED_HOSTS", DEFAULT_ALLOWED_HOSTS),
        csrf_trusted_origins=_origins(env),
        secure_cookies=env.flag("POSTROOM_SECURE_COOKIES", environment == PRODUCTION),
        debug=env.flag("POSTROOM_DEBUG", False),
        log_level=_log_level(env),
        secret_key=_secret_key(env, data),
        static_root=env.text("POSTROOM_STATIC_ROOT"),
        upload_storage=env.text("POSTROOM_UPLOAD_STORAGE"),
        upload_storage_options=_storage_options(env),
        inbox_api_open_on_loopback=_inbox_api_open(env, environment),
    )
    return hosting, issues


def _inbox_api_open(env: EnvReader, environment: str) -> Setting:
    """Tokenless inbox API for loopback callers: Development only, whatever is asked."""
    name = "POSTROOM_INBOX_API_OPEN_ON_LOOPBACK"
    asked = env.flag(name, False)
    if asked.value and environment != DEVELOPMENT:
        env.problem(
            name,
            f"{name} is set, but the environment is {environment}: the inbox API stays closed"
            " without a token outside Development.",
            f"Remove {name}, and create an inbox API token: postroom inbox token create NAME.",
            level=WARNING,
        )
        return Setting(False, f"default (env:{name} is ignored outside Development)")
    return asked


def _relay(env: EnvReader, environment: str) -> dict[str, Setting]:
    """The SMTP relay's address, ports and certificate. No port: `serve` runs no relay."""
    ports = {}
    for field, name, example in (
        ("relay_port", "POSTROOM_RELAY_PORT", "587 (or 2587, which needs no root)"),
        ("relay_tls_port", "POSTROOM_RELAY_TLS_PORT", "465 (or 2465, which needs no root)"),
    ):
        hint = f"Set {name} to the port the relay listens on, e.g. {example}, or remove it."
        ports[field] = (
            Setting()
            if env.raw(name) is None
            else env.number(name, None, 0, 65535, hint, (RELAY, SERVE))
        )
    running = (RELAY, SERVE) if any(p.value is not None for p in ports.values()) else (RELAY,)
    files = {}
    for field, name in (("relay_cert", "POSTROOM_RELAY_CERT"), ("relay_key", "POSTROOM_RELAY_KEY")):
        value = env.raw(name)
        files[field] = Setting() if value is None else Setting(Path(value), env.origin(name))
        if value is not None and not Path(value).is_file():
            env.problem(
                name,
                f"{name} names {value[:200]!r}, which is not a readable file.",
                f"Set {name} to the PEM file's full path, readable by Postroom's user.",
                running,
            )
    if files["relay_cert"].is_set != files["relay_key"].is_set:
        given, missing = (
            ("POSTROOM_RELAY_CERT", "POSTROOM_RELAY_KEY")
            if files["relay_cert"].is_set
            else ("POSTROOM_RELAY_KEY", "POSTROOM_RELAY_CERT")
        )
        env.problem(
            missing,
            f"{given} is set but {missing} is not: the relay needs both for TLS.",
            "Set POSTROOM_RELAY_CERT to the certificate chain and POSTROOM_RELAY_KEY to its"
            " private key (PEM files).",
            running,
        )
    elif not files["relay_cert"].is_set and environment != DEVELOPMENT and running != (RELAY,):
        env.problem(
            "POSTROOM_RELAY_CERT",
            "The relay has no certificate (POSTROOM_RELAY_CERT and POSTROOM_RELAY_KEY are not"
            " set): it offers no TLS, so applications cannot log in; only applications marked"
            ' "trusted network, no login" can send, from this machine.',
            "Set POSTROOM_RELAY_CERT and POSTROOM_RELAY_KEY to the certificate and key of the"
            " relay's host name (PEM files).",
            level=WARNING,
        )
    return {"relay_host": _host(env, "POSTROOM_RELAY_HOST", (RELAY, SERVE)), **ports, **files}


def _storage_options(env: EnvReader) -> Setting:
    """A JSON object of options for the upload storage. Kept as a Secret: it may hold a cloud
    access key, so neither the value nor a parser message quoting it is ever shown."""
    name = "POSTROOM_UPLOAD_STORAGE_OPTIONS"
    text = env.raw(name)
    if text is None:
        return Setting()
    try:
        options = json.loads(text)
    except ValueError as error:
        env.problem(
            name,
            f"{name} is not valid JSON (line {error.lineno}, column {error.colno}).",
            'Write a JSON object, e.g. {"location": "/srv/postroom/uploads"}.',
            ALL_PARTS,
        )
        return Setting(None, f"env:{name} (invalid)")
    if not isinstance(options, dict):
        env.problem(
            name,
            f"{name} is JSON but not an object.",
            'Write a JSON object, e.g. {"location": "/srv/postroom/uploads"}.',
            ALL_PARTS,
        )
        return Setting(None, f"env:{name} (invalid)")
    return Setting(Secret(text), env.origin(name))


def upload_storage(hosting: Hosting) -> dict[str, object]:
    """Django's STORAGES["uploads"]: files in the data directory by default; several machines
    share a directory or a bucket instead (POSTROOM_UPLOAD_STORAGE and its options)."""
    options = hosting.upload_storage_options
    chosen: dict[str, object] = json.loads(options.value.reveal()) if options.is_set else {}
    backend = hosting.upload_storage.value
    if not backend:
        backend = "django.core.files.storage.FileSystemStorage"
        chosen = {
            "location": str(hosting.data_dir.value / "uploads"),
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
            **chosen,
        }
    return {"BACKEND": backend, "OPTIONS": chosen}


def _environment(env: EnvReader, name: str, site: Path) -> Setting:
    if env.raw("POSTROOM_ENVIRONMENT") is None:
        return Setting(name, DEFAULT)
    if name not in (DEVELOPMENT, PRODUCTION) and not (site / f"appsettings.{name}.json").is_file():
        env.problem(
            "POSTROOM_ENVIRONMENT",
            f"POSTROOM_ENVIRONMENT is {name[:40]!r}: neither Development nor Production, and there"
            f" is no appsettings.{name[:40]}.json. Postroom runs as outside Development (no"
            " development inbox).",
            "Set POSTROOM_ENVIRONMENT=Production or Development; a custom name such as Staging"
            " is meant for a site with its own appsettings.Staging.json.",
            level=WARNING,
        )
    return Setting(name, env.origin("POSTROOM_ENVIRONMENT"))


def _host(env: EnvReader, name: str, blocks: tuple[str, ...]) -> Setting:
    value = env.raw(name)
    if value is None:
        return Setting("127.0.0.1", DEFAULT)
    if any(char.isspace() for char in value) or "://" in value or "/" in value:
        env.invalid(
            name,
            value,
            "an address to listen on such as 127.0.0.1 or 0.0.0.0",
            f"Set {name} to an IP address or host name of this machine.",
            blocks,
        )
        return Setting("127.0.0.1", f"default (env:{name} is invalid)")
    return Setting(value, env.origin(name))


def _database_url(env: EnvReader, data: Path) -> Setting:
    url = env.raw("DATABASE_URL")
    if url is None:
        return Setting(RedactedUrl(f"sqlite:///{data / 'postroom.sqlite3'}"), DEFAULT)
    try:
        dj_database_url.parse(url)
    except Exception:  # its messages may quote the URL with its password
        env.problem(
            "DATABASE_URL",
            "DATABASE_URL is not a database URL Postroom can use.",
            "Write it as postgres://user:password@host:5432/name, or remove it to use SQLite"
            " in the data directory.",
            ALL_PARTS,
        )
        return Setting(None, "env:DATABASE_URL (invalid)")
    return Setting(RedactedUrl(url), env.origin("DATABASE_URL"))


def normalise_base_url(value: str) -> str | None:
    """``https://Example.com/cms/`` -> ``https://example.com/cms``; None if it is no base URL."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.query or parts.fragment or "@" in parts.netloc or any(c.isspace() for c in value):
        return None
    netloc = parts.netloc.lower()
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))


def _base_url(env: EnvReader, environment: str) -> Setting:
    name = "POSTROOM_BASE_URL"
    value = env.raw(name)
    if value is None:
        if environment == PRODUCTION:
            env.problem(
                name,
                "POSTROOM_BASE_URL is not set: in Production, invitations and password reset"
                " emails are not sent without it, because a link must never take its address"
                " from a request's Host header.",
                "Set POSTROOM_BASE_URL to the public address of the backoffice, e.g."
                " POSTROOM_BASE_URL=https://backoffice.example.com, in the environment of every"
                " Postroom process.",
                level=WARNING,
            )
        return Setting()
    base = normalise_base_url(value)
    if base is None:
        env.invalid(
            name,
            value,
            "a URL with scheme and host such as https://backoffice.example.com (no query)",
            "Write the full public address, starting with https://. Until then no"
            " invitation or password reset link is built from it.",
        )
        return Setting(None, "env:POSTROOM_BASE_URL (invalid)")
    return Setting(base, env.origin(name))


def _trusted_proxy(env: EnvReader) -> Setting:
    name = "POSTROOM_TRUSTED_PROXY"
    value = env.raw(name)
    if value is None:
        return Setting()
    try:
        ipaddress.ip_address(value)
    except ValueError:
        env.invalid(
            name,
            value,
            "the IP address of your reverse proxy, such as 127.0.0.1",
            "Write the address the proxy connects from, as an IP address. Until then no"
            " X-Forwarded-* header is trusted.",
        )
        return Setting(None, "env:POSTROOM_TRUSTED_PROXY (invalid)")
    return Setting(value, env.origin(name))


def _fallback_url(env: EnvReader) -> Setting:
    name = "POSTROOM_FALLBACK_SMTP_URL"
    value = env.raw(name)
    if value is None:
        return Setting()
    try:
        relay = parse_fallback_url(value)
    except FallbackUrlError as error:
        env.problem(
            name,
            f"POSTROOM_FALLBACK_SMTP_URL is invalid: {error}. Invitations and alerts cannot use"
            " the fallback relay.",
            f"Write it as {FALLBACK_EXAMPLE} (also smtp:// or smtps://); percent-encode"
            " special characters of the user name and password.",
        )
        return Setting(None, "env:POSTROOM_FALLBACK_SMTP_URL (invalid)")
    return Setting(relay, env.origin(name))


def _fallback_from(env: EnvReader) -> Setting:
    name = "POSTROOM_FALLBACK_FROM"
    value = env.raw(name)
    if value is None:
        return Setting()
    try:
        return Setting(sender_address(value), env.origin(name))
    except convert.Invalid as error:
        env.invalid(
            name,
            value,
            error.expected,
            "Use a sender address of the relay's own domain, e.g. noreply@host.example.",
        )
        return Setting(None, "env:POSTROOM_FALLBACK_FROM (invalid)")


def _list(env: EnvReader, name: str, default: tuple[str, ...]) -> Setting:
    value = env.raw(name)
    if value is None:
        return Setting(default, DEFAULT)
    return Setting(
        tuple(item.strip() for item in value.split(",") if item.strip()), env.origin(name)
    )


def _origins(env: EnvReader) -> Setting:
    name = "POSTROOM_CSRF_TRUSTED_ORIGINS"
    setting = _list(env, name, ())
    good = tuple(o for o in setting.value if normalise_base_url(o) == o.lower().rstrip("/"))
    bad = [o for o in setting.value if o not in good]
    if bad:
        env.invalid(
            name,
            bad[0],
            "origins with scheme such as https://backoffice.example.com",
            "Separate origins by commas and start each with https:// or http://.",
        )
    return Setting(good, setting.origin)


def _log_level(env: EnvReader) -> Setting:
    name = "POSTROOM_LOG_LEVEL"
    value = env.raw(name)
    if value is None:
        return Setting("INFO", DEFAULT)
    if value.upper() in LOG_LEVELS:
        return Setting(value.upper(), env.origin(name))
    env.invalid(
        name,
        value,
        "one of " + ", ".join(LOG_LEVELS),
        "Set POSTROOM_LOG_LEVEL=INFO (or DEBUG for more detail).",
    )
    return Setting("INFO", "default (env:POSTROOM_LOG_LEVEL is invalid)")


METRICS_TOKEN_MIN_CHARS = 16


def _metrics_token(env: EnvReader) -> Setting:
    """The Bearer token that opens /metrics to other machines; unset, only loopback may ask."""
    name = "POSTROOM_METRICS_TOKEN"
    value = env.raw(name)
    if value is None:
        return Setting(None, "default (loopback only)")
    if len(value) < METRICS_TOKEN_MIN_CHARS or any(c.isspace() or ord(c) > 126 for c in value):
        env.problem(
            name,
            f"POSTROOM_METRICS_TOKEN is {len(value)} characters long or holds spaces or"
            f" non-ASCII characters; a token needs at least {METRICS_TOKEN_MIN_CHARS} printable"
            " ASCII characters. Until it is fixed, /metrics answers loopback only.",
            "Generate one, e.g. with: python -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )
        return Setting(None, "default (env:POSTROOM_METRICS_TOKEN is invalid)")
    return Setting(Secret(value), env.origin(name))


def _secret_key(env: EnvReader, data: Path) -> Setting:
    value = env.raw("POSTROOM_SECRET_KEY")
    if value is None:
        return Setting(None, f"generated once into {data / 'secret_key'}")
    return Setting(Secret(value), env.origin("POSTROOM_SECRET_KEY"))


def secret_key(hosting: Hosting) -> str:
    """POSTROOM_SECRET_KEY, or a random key generated once and kept in the data directory."""
    if hosting.secret_key.is_set:
        return hosting.secret_key.value.reveal()
    data: Path = hosting.data_dir.value
    data.mkdir(parents=True, exist_ok=True)
    key_file = data / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


def database(hosting: Hosting) -> dict[str, Any]:
    """Django's DATABASES["default"] for the configured URL (SQLite when it is invalid: the
    commands then refuse to start, and ``config show`` still works)."""
    setting = hosting.database_url
    default = f"sqlite:///{hosting.data_dir.value / 'postroom.sqlite3'}"
    url = setting.value.reveal() if setting.is_set else default
    return dict(dj_database_url.parse(url, conn_max_age=0, conn_health_checks=True))
