"""Django settings, from the environment, with defaults that run with no configuration.

SMTP settings are not here: they come from the site's web.config, appsettings*.json and
environment variables through :mod:`postroom.mailsettings`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

from postroom import runtime

BASE_DIR = Path(__file__).resolve().parent
ENVIRONMENT = runtime.environment_name()
DATA_DIR = runtime.data_dir()
SITE_DIR = runtime.site_dir()


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """POSTROOM_SECRET_KEY, or a random key generated once and kept in the data directory."""
    configured = os.environ.get("POSTROOM_SECRET_KEY")
    if configured:
        return configured
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_flag("POSTROOM_DEBUG", False)
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("POSTROOM_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("POSTROOM_CSRF_TRUSTED_ORIGINS", "").split(",")
    if origin.strip()
]

INSTALLED_APPS = [
    "postroom.accounts",
    "postroom.mailsettings",
    "postroom.delivery",
    "postroom.inbox",
    "postroom.health",
    "postroom.forms",
    "postroom.backoffice",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "postroom.backoffice.headers.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "postroom.backoffice.middleware.FirstRunSetupMiddleware",
    "postroom.backoffice.outofrange.OutOfRangeMiddleware",
]

ROOT_URLCONF = "postroom.urls"
WSGI_APPLICATION = "postroom.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "postroom.backoffice.context.backoffice",
            ],
        },
    },
]

DEFAULT_SQLITE_PATH = DATA_DIR / "postroom.sqlite3"
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DEFAULT_SQLITE_PATH}", conn_max_age=0, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets the web pages read while the worker writes; IMMEDIATE takes the one
            # write lock at the start of a transaction instead of failing half-way through.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "backoffice:login"
LOGIN_REDIRECT_URL = "backoffice:dashboard"
LOGOUT_REDIRECT_URL = "backoffice:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = _env_flag("POSTROOM_SECURE_COOKIES", ENVIRONMENT == "Production")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Where cookies are HTTPS-only the site is HTTPS-only: browsers remember that for a year.
# (SecurityMiddleware sends it on HTTPS requests only; behind a proxy, POSTROOM_TRUSTED_PROXY
# makes the proxy's scheme count.) Subdomains and preload are the site owner's choice.
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if SESSION_COOKIE_SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
SECURE_HSTS_PRELOAD = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("POSTROOM_STATIC_ROOT") or None  # only for collectstatic
WHITENOISE_USE_FINDERS = True  # serve app static files without a collectstatic step
WHITENOISE_AUTOREFRESH = DEBUG

# Everything sent through django.core.mail goes through Postroom's outbox.
EMAIL_BACKEND = "postroom.delivery.backend.OutboxEmailBackend"

# Where the web server, and the development mail catcher, listen.
POSTROOM_HOST = os.environ.get("POSTROOM_HOST", "127.0.0.1")
POSTROOM_PORT = int(os.environ.get("POSTROOM_PORT", "8000"))
POSTROOM_INBOX_HOST = os.environ.get("POSTROOM_INBOX_HOST", "127.0.0.1")
POSTROOM_INBOX_PORT = int(os.environ.get("POSTROOM_INBOX_PORT", "2525"))

# Every record on the console passes RedactSecrets: a 500's traceback is logged in every
# environment (DEBUG or not), with passwords, tokens, cookies and webhook URLs masked.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "postroom.redact.RedactSecrets"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "loggers": {
        "postroom": {
            "handlers": ["console"],
            "level": os.environ.get("POSTROOM_LOG_LEVEL", "INFO"),
        },
        # Django's own default sends these to the console only when DEBUG is on.
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": True},
        "django.request": {"level": "ERROR"},  # 5xx with traceback; not every 404 of a scanner
        "waitress": {"handlers": ["console"], "level": "WARNING"},
        "mail.log": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}
