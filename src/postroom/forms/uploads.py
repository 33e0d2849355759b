"""Uploaded files, kept through Django's storage API under a random name; the original name
is in the database.

The storage is ``storages["uploads"]`` (settings.STORAGES): by default files in
``<data directory>/uploads``; any Django storage backend (a shared directory, S3 through
django-storages, ...) by configuration, so that several machines see the same files.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import secrets

from django.core.files import File
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile

from postroom.forms.formdefs import clean_filename

log = logging.getLogger("postroom.forms")
STORAGE = "uploads"


def storage() -> Storage:
    return storages[STORAGE]


def checked(stored_name: str) -> str:
    """``stored_name`` if it can only name a file of ours (no path, no hidden file)."""
    if not stored_name or "/" in stored_name or "\\" in stored_name or stored_name.startswith("."):
        raise ValueError("not a stored upload name")
    return stored_name


def content_type_for(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def save(upload: UploadedFile) -> dict[str, object]:
    """Store ``upload`` under a random name; returns the Upload row's fields (not saved)."""
    original = clean_filename(upload.name or "file")
    stored_name = checked(storage().save(secrets.token_hex(16), upload))
    return {
        "original_name": original,
        "stored_name": stored_name,
        "content_type": content_type_for(original),
        "size": upload.size if upload.size is not None else storage().size(stored_name),
    }


def open_upload(stored_name: str) -> File:
    """The stored file, open for reading; OSError (or ValueError) when it cannot be read."""
    return storage().open(checked(stored_name), "rb")


def read_bytes(stored_name: str) -> bytes:
    with open_upload(stored_name) as handle:
        return handle.read()


def remove(stored_names: list[str]) -> None:
    for name in stored_names:
        with contextlib.suppress(FileNotFoundError, ValueError):
            storage().delete(checked(name))
