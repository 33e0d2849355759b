"""Django settings, from the configuration's hosting reader, with defaults that run with no
configuration.

Every value comes from :func:`postroom.config.hosting.read_hosting` (the ``POSTROOM_*``
variables and ``DATABASE_URL``); a value it cannot use is one of the configuration's problems
(``postroom config show``), and the commands refuse to start a part it stops. SMTP settings
are not here: they come from the site's web.config, appsettings*.json and environment
variables through :mod:`postroom.config`.
"""

from __future__ import annotations

from pathlib import Path

from postroom.config.hosting import database, read_hosting, secret_key, upload_storage

BASE_DIR = Path(__file__).resolve().parent
_HOSTING, _ = read_hosting()
ENVIRONMENT = _HOSTING.environment.value
DATA_DIR = _HOSTING.data_dir.value
SITE_DIR = _HOSTING.site_dir.value

SECRET_KEY = secret_key(_HOSTING)
DEBUG = _HOSTING.debug.value
ALLOWED_HOSTS = list(_HOSTING.allowed_hosts.value)
CSRF_TRUSTED_ORIGINS = list(_HOSTING.csrf_trusted_origins.value)

INSTALLED_APPS = [
    "postroom.config",
    "postroom.core",
    "postroom.accounts",
    "postroom.mailsettings",
    "postroom.delivery",
    "postroom.applications",
    "postroom.inbox",
    "postroom.relay",
    "postroom.health",
    "postroom.forms",
    "postroom.events",
    "postroom.api",
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
    "postroom.accounts.middleware.FirstRunSetupMiddleware",
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
DATABASES = {"default": database(_HOSTING)}
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
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "backoffice:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
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
SESSION_COOKIE_SECURE = _HOSTING.secure_cookies.value
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


STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "uploads": upload_storage(_HOSTING),  # see postroom.forms.uploads
}

STATIC_URL = "static/"
STATIC_ROOT = _HOSTING.static_root.value  # only for collectstatic
WHITENOISE_USE_FINDERS = True  # serve app static files without a collectstatic step
WHITENOISE_AUTOREFRESH = DEBUG
# Uploaded files are kept private to Postroom's user, like everything in the data directory.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Everything sent through django.core.mail goes through Postroom's outbox.
EMAIL_BACKEND = "postroom.delivery.backend.OutboxEmailBackend"

# Where the web server, and the development mail catcher, listen.
POSTROOM_HOST = _HOSTING.host.value
POSTROOM_PORT = _HOSTING.port.value
POSTROOM_INBOX_HOST = _HOSTING.inbox_host.value
POSTROOM_INBOX_PORT = _HOSTING.inbox_port.value

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
    # Every record reaches the one console handler through the root logger, so nothing that
    # a library logs bypasses the filter (asyncio, warnings, concurrent.futures, ...).
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "postroom": {"level": _HOSTING.log_level.value},
        # Django's own default sends these to the console only when DEBUG is on.
        "django": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},  # 5xx with traceback; not every 404 of a scanner
        "waitress": {"level": "WARNING"},
        "mail.log": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}
