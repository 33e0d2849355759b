"""Minimal Django settings for django-post-office in ``bench/delivery.py`` (not for Postroom).

SQLite in ``BENCH_POST_OFFICE_DIR``, Django's SMTP backend pointed at the benchmark's
smtp-sink on ``BENCH_SMTP_PORT``; everything else is django-post-office's defaults (five
sending threads per process, batches of 100, a log row per message).
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR = Path(os.environ["BENCH_POST_OFFICE_DIR"])

SECRET_KEY = "bench-only-not-a-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = ["django.contrib.contenttypes", "post_office"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "post_office.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("BENCH_SMTP_PORT", "25"))
EMAIL_USE_TLS = False
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = "bench@example.org"

POST_OFFICE = {
    "BACKENDS": {"default": "django.core.mail.backends.smtp.EmailBackend"},
    "DEFAULT_PRIORITY": "medium",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"post_office": {"handlers": ["console"], "level": "WARNING"}},
}
