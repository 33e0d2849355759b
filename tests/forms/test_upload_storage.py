"""Uploads go through Django's storage API: files in the data directory by default, any
Django storage backend (a shared directory, a bucket) by configuration."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from formhelpers import add_field, form_emails, parsed, post

from postroom.config.hosting import read_hosting, upload_storage
from postroom.forms.models import Upload

pytestmark = pytest.mark.django_db


def _upload_storage() -> dict[str, object]:
    hosting, problems = read_hosting()
    assert not problems
    return upload_storage(hosting)


GOOD = {"name": "Ann", "email": "ann@example.net", "message": "Hello"}


def test_by_default_uploads_are_private_files_in_the_data_directory(monkeypatch):
    monkeypatch.delenv("POSTROOM_UPLOAD_STORAGE", raising=False)
    monkeypatch.delenv("POSTROOM_UPLOAD_STORAGE_OPTIONS", raising=False)
    assert _upload_storage() == {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": str(read_hosting()[0].data_dir.value / "uploads"),
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }


def test_a_shared_directory_or_another_backend_is_configured_in_the_environment(monkeypatch):
    monkeypatch.setenv("POSTROOM_UPLOAD_STORAGE_OPTIONS", '{"location": "/srv/shared/uploads"}')
    assert _upload_storage()["OPTIONS"]["location"] == "/srv/shared/uploads"

    monkeypatch.setenv("POSTROOM_UPLOAD_STORAGE", "storages.backends.s3.S3Storage")
    monkeypatch.setenv("POSTROOM_UPLOAD_STORAGE_OPTIONS", '{"bucket_name": "uploads"}')
    assert _upload_storage() == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": "uploads"},
    }


@pytest.mark.parametrize("value", ['{"secret_key": "s3cr3t"', '["s3cr3t"]'])
def test_bad_options_are_reported_without_their_value(monkeypatch, value):
    monkeypatch.setenv("POSTROOM_UPLOAD_STORAGE_OPTIONS", value)
    hosting, problems = read_hosting()
    assert not hosting.upload_storage_options.is_set
    [problem] = [p for p in problems if "POSTROOM_UPLOAD_STORAGE_OPTIONS" in str(p)]
    assert problem.blocks, "uploads cannot go to the wrong place: the commands refuse to start"
    assert "s3cr3t" not in str(problem)
    assert "s3cr3t" not in repr(hosting)


def test_uploads_are_kept_downloaded_and_attached_through_the_configured_storage(
    settings, client, admin_client, contact_form, upload_dir
):
    settings.STORAGES = {
        **settings.STORAGES,
        "uploads": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    add_field(contact_form, "file", "CV", "cv", allowed_types="pdf")

    post(client, contact_form, {**GOOD, "cv": SimpleUploadedFile("cv.pdf", b"%PDF-1.4 ok")})

    upload = Upload.objects.get()
    assert not upload_dir.exists()  # nothing was written to the data directory
    url = f"/forms/{contact_form.pk}/entries/{upload.entry_id}/files/{upload.pk}/"
    assert b"".join(admin_client.get(url).streaming_content) == b"%PDF-1.4 ok"
    [attachment] = list(parsed(form_emails()[0]).iter_attachments())
    assert attachment.get_content() == b"%PDF-1.4 ok"
