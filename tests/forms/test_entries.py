"""Entries: stored with where they came from, listed, searched, shown, exported and deleted."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from formhelpers import add_field, post

from postroom import runtime
from postroom.forms import export
from postroom.forms.models import Entry, Upload

pytestmark = pytest.mark.django_db

GOOD = {"name": "Ann Smith", "email": "ann@example.net", "message": "Hello"}


@pytest.fixture
def with_cv(contact_form):
    add_field(contact_form, "file", "CV", "cv", allowed_types="pdf, txt")
    return contact_form


def test_an_entry_keeps_its_answers_time_address_browser_and_page(client, contact_form):
    post(
        client,
        contact_form,
        GOOD,
        REMOTE_ADDR="203.0.113.9",
        HTTP_USER_AGENT="Mozilla/5.0 (Test)\r\nX-Injected: 1",
        HTTP_REFERER="https://www.example.com/contact",
    )
    entry = Entry.objects.get()
    assert entry.values == {"name": "Ann Smith", "email": "ann@example.net", "message": "Hello"}
    assert entry.ip == "203.0.113.9"
    assert entry.user_agent == "Mozilla/5.0 (Test) X-Injected: 1"
    assert entry.referrer == "https://www.example.com/contact"
    assert entry.created_at.tzinfo is not None


def test_uploads_are_stored_under_random_names_with_the_original_name_kept(client, with_cv):
    post(client, with_cv, {**GOOD, "cv": SimpleUploadedFile("../../My CV.pdf", b"%PDF-1.4")})

    upload = Upload.objects.get()
    assert upload.original_name == "My CV.pdf"
    assert upload.content_type == "application/pdf"
    assert upload.size == 8
    stored = runtime.data_dir() / "uploads" / upload.stored_name
    assert stored.read_bytes() == b"%PDF-1.4"
    assert len(upload.stored_name) == 32 and "CV" not in upload.stored_name
    assert Entry.objects.get().values["cv"] == "My CV.pdf"


def test_an_upload_downloads_as_an_attachment(client, admin_client, with_cv):
    post(
        client, with_cv, {**GOOD, "cv": SimpleUploadedFile("notes <1>.txt", b"<script>x</script>")}
    )
    upload = Upload.objects.get()
    entry = upload.entry

    page = admin_client.get(f"/forms/{with_cv.pk}/entries/{entry.pk}/").content.decode()
    url = f"/forms/{with_cv.pk}/entries/{entry.pk}/files/{upload.pk}/"
    assert f'<a href="{url}" download>notes _1_.txt</a>' in page

    response = admin_client.get(url)
    assert response["Content-Disposition"] == 'attachment; filename="notes _1_.txt"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"<script>x</script>"
    assert Client().get(url).status_code == 302  # visitors must log in


def test_deleting_an_entry_deletes_its_files(
    client, admin_client, with_cv, django_capture_on_commit_callbacks
):
    post(client, with_cv, {**GOOD, "cv": SimpleUploadedFile("cv.pdf", b"%PDF")})
    entry = Entry.objects.get()
    stored = runtime.data_dir() / "uploads" / Upload.objects.get().stored_name

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/forms/{with_cv.pk}/entries/{entry.pk}/delete/")

    assert response["Location"] == f"/forms/{with_cv.pk}/entries/"
    assert not Entry.objects.exists() and not Upload.objects.exists()
    assert not stored.exists()


def test_deleting_a_form_deletes_the_files_of_its_entries(
    client, admin_client, with_cv, django_capture_on_commit_callbacks
):
    post(client, with_cv, {**GOOD, "cv": SimpleUploadedFile("cv.pdf", b"%PDF")})
    stored = runtime.data_dir() / "uploads" / Upload.objects.get().stored_name
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/forms/{with_cv.pk}/delete/")
    assert not stored.exists()


def test_the_detail_shows_answers_with_line_breaks_and_escaped(client, admin_client, contact_form):
    post(client, contact_form, {**GOOD, "message": "Line one\r\n<b>Line two</b>"})
    entry = Entry.objects.get()
    page = admin_client.get(f"/forms/{contact_form.pk}/entries/{entry.pk}/").content.decode()
    assert "Line one<br>&lt;b&gt;Line two&lt;/b&gt;" in page
    assert "<b>Line two</b>" not in page
    assert "127.0.0.1" in page


def test_the_list_searches_answers_and_pages(client, admin_client, contact_form):
    contact_form.rate_limit = 0
    contact_form.save()
    for number in range(55):
        post(client, contact_form, {**GOOD, "name": f"Person {number:02d}"})
    post(client, contact_form, {**GOOD, "name": "Zoë Müller", "email": "zoe@example.org"})

    first = admin_client.get(f"/forms/{contact_form.pk}/entries/")
    assert len(first.context["rows"]) == 50
    html = first.content.decode()
    assert "1–50 of 56" in html and "<th>Name</th><th>Email</th><th>Message</th>" in html
    assert html.index("Zoë Müller") < html.index("Person 54")  # newest first
    second = admin_client.get(f"/forms/{contact_form.pk}/entries/?page=2")
    assert len(second.context["rows"]) == 6

    found = admin_client.get(f"/forms/{contact_form.pk}/entries/?q=ZOË+example.org")
    assert [row["cells"][0] for row in found.context["rows"]] == ["Zoë Müller"]
    empty = admin_client.get(f"/forms/{contact_form.pk}/entries/?q=nobody").content.decode()
    assert "No entry matches “nobody”" in empty


def test_csv_export_streams_every_entry_with_formulas_neutralised(
    client, admin_client, contact_form
):
    add_field(contact_form, "multiple_choice", "Products", "products", choices="Tea\nCoffee")
    post(client, contact_form, {**GOOD, "name": '=HYPERLINK("http://evil")', "products": ["Tea"]})
    post(
        client,
        contact_form,
        {**GOOD, "name": "+1 555", "message": "-2+3", "products": ["Tea", "Coffee"]},
    )
    post(client, contact_form, {**GOOD, "name": "@SUM(A1)", "message": 'plain, with "quotes"'})

    response = admin_client.get(f"/forms/{contact_form.pk}/entries.csv")

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="contact-us-entries-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:6] == ["Entry", "Submitted (UTC)", "Name", "Email", "Message", "Products"]
    assert [row[2] for row in rows[1:]] == ['\'=HYPERLINK("http://evil")', "+1 555", "'@SUM(A1)"]
    assert rows[2][4:6] == ["'-2+3", "Tea, Coffee"]
    assert rows[3][4] == 'plain, with "quotes"'


def test_csv_export_follows_the_search(client, admin_client, contact_form):
    post(client, contact_form, {**GOOD, "name": "Ann"})
    post(client, contact_form, {**GOOD, "name": "Bob"})
    response = admin_client.get(f"/forms/{contact_form.pk}/entries.csv?q=bob")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row[2] for row in rows[1:]] == ["Bob"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+1", "+1"), ("-1", "-1"), ("@A1", "'@A1"), ("\t=1", "'\t=1"),
     ("a=1", "a=1"), ("", ""), ("+44 20 7946 0000", "+44 20 7946 0000"),
     ("+1 (555) 010-9999", "+1 (555) 010-9999"), ("-12.5", "-12.5"), ("-2+3", "'-2+3"),
     ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"), ("-1*SUM(A1:A9)", "'-1*SUM(A1:A9)"),
     ("+44\n=1", "'+44\n=1"), ("\r+1", "'\r+1")],
)  # fmt: skip
def test_neutralise(value, expected):
    assert export.neutralise(value) == expected
