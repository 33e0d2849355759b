"""Uploaded files on disk: ``data_dir()/uploads/<random name>``; the original name is in the DB."""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import os
import secrets
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile

from postroom import runtime
from postroom.forms.formdefs import clean_filename

log = logging.getLogger("postroom.forms")


def directory() -> Path:
    return runtime.data_dir() / "uploads"


def path_of(stored_name: str) -> Path:
    if not stored_name or "/" in stored_name or "\\" in stored_name or stored_name.startswith("."):
        raise ValueError("not a stored upload name")
    return directory() / stored_name


def content_type_for(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def save(upload: UploadedFile) -> dict[str, object]:
    """Write ``upload`` under a random name; returns the Upload row's fields (not saved)."""
    target_dir = directory()
    target_dir.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    target = target_dir / stored_name
    size = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
            size += len(chunk)
    original = clean_filename(upload.name or "file")
    return {
        "original_name": original,
        "stored_name": stored_name,
        "content_type": content_type_for(original),
        "size": size,
    }


def remove(stored_names: list[str]) -> None:
    for name in stored_names:
        with contextlib.suppress(FileNotFoundError, ValueError):
            path_of(name).unlink()
