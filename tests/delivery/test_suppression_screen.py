"""The suppression list screen (administrators only), its CSV import and export, and the
`postroom suppressions` command."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from postroom.delivery.models import OutboxMessage, Suppression, SuppressionRemoval
from postroom.delivery.suppression import is_suppressed, suppress
from postroom.delivery.suppression_csv import ImportRefused, import_csv

pytestmark = pytest.mark.django_db

URL = "/suppressions/"


def test_only_administrators_see_the_list(client, editor):
    assert client.get(URL).status_code == 302  # to the login page
    client.force_login(editor)
    assert client.get(URL).status_code == 403
    assert client.post(URL + "add/", {"address": "a@example.net"}).status_code == 403
    assert not Suppression.objects.exists()


def test_the_list_searches_and_pages(admin_client):
    for n in range(55):
        suppress(f"user{n}@example.net", "hard_bounce")
    suppress("ann@other.org", "complaint", note="spam button")

    first = admin_client.get(URL).content.decode()
    assert "ann@other.org" in first and "1–50 of 56" in first
    assert "user0@example.net" in admin_client.get(URL + "?page=2").content.decode()

    found = admin_client.get(URL + "?q=OTHER.org").content.decode()
    assert "ann@other.org" in found and "user1@example.net" not in found
    by_reason = admin_client.get(URL + "?reason=complaint").content.decode()
    assert "ann@other.org" in by_reason and "user1@" not in by_reason
    assert "No suppressed address matches" in admin_client.get(URL + "?q=nobody").content.decode()


def test_an_administrator_adds_an_address_with_a_note(admin_client):
    response = admin_client.post(URL + "add/", {"address": "Ann@Example.NET", "note": "asked"})

    assert response.status_code == 302
    entry = is_suppressed("ann@example.net")
    assert (entry.address, entry.reason, entry.note) == ("Ann@example.net", "manual", "asked")
    assert entry.source == "backoffice: admin@example.com"


def test_a_bad_address_is_refused_next_to_the_field(admin_client):
    response = admin_client.post(URL + "add/", {"address": "not an address"})

    assert response.status_code == 400
    assert "is not an email address" in response.content.decode()
    assert not Suppression.objects.exists()


def test_removing_keeps_the_note_and_returns_to_the_same_page(admin_client, administrator):
    suppress("ann@example.net", "hard_bounce")

    response = admin_client.post(
        URL + "remove/",
        {"address": "ann@example.net", "note": "Mailbox fixed", "back": "q=ann&page=1&next=//evil"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/suppressions/?q=ann&page=1"
    assert is_suppressed("ann@example.net") is None
    [removal] = SuppressionRemoval.objects.all()
    assert removal.note == "Mailbox fixed" and removal.removed_by.endswith("admin@example.com")
    assert "Mailbox fixed" in admin_client.get(URL).content.decode()


def test_removing_an_address_that_is_not_listed_says_so(admin_client):
    response = admin_client.post(URL + "remove/", {"address": "ann@example.net"}, follow=True)
    assert "not on the suppression list" in response.content.decode()


def test_export_neutralises_formulas_and_import_reads_it_back(admin_client):
    suppress("=cmd@example.net", "complaint", note="=HYPERLINK(1)")
    suppress("bob@example.net", "hard_bounce")

    response = admin_client.get(URL + "export.csv")

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = body.splitlines()
    assert lines[0] == "address,reason,created_at,source,note"
    assert lines[1].startswith("'=cmd@example.net,complaint,") and lines[1].endswith(
        ",'=HYPERLINK(1)"
    )

    Suppression.objects.all().delete()
    upload = SimpleUploadedFile("list.csv", body.encode("utf-8-sig"), content_type="text/csv")
    admin_client.post(URL + "import/", {"file": upload})

    assert is_suppressed("=cmd@example.net").reason == "complaint"
    assert is_suppressed("bob@example.net").reason == "hard_bounce"


def test_import_of_plain_addresses_reports_bad_rows_and_counts_duplicates():
    suppress("ann@example.net", "manual")

    result = import_csv(b"ann@example.net\nbob@example.net\n\nnot-an-address\ncy@Example.NET\n")

    assert (result.added, result.already) == (2, 1)
    assert result.problems == [
        "Row 4: 'not-an-address' is not an email address such as name@example.com."
    ]
    assert result.summary() == "Added 2 addresses; 1 already on the list; 1 row left out."
    assert is_suppressed("cy@example.net").reason == "import"


def test_import_refuses_a_file_that_is_not_text():
    with pytest.raises(ImportRefused, match="UTF-8"):
        import_csv(b"\xff\xfe\x00a")
    assert not Suppression.objects.exists()


def test_import_refuses_a_cell_too_long_for_csv_instead_of_failing():
    with pytest.raises(ImportRefused, match="field limit"):
        import_csv(b"address\n" + b"a" * 200_000 + b"@example.net\n")
    assert not Suppression.objects.exists()


def test_an_address_with_a_control_character_is_a_problem_row_not_an_entry():
    result = import_csv(b"address\nann@example.net\x00\nbob@example.net\x07\n")

    assert result.added == 0
    assert len(result.problems) == 2
    assert not Suppression.objects.exists()


def test_the_import_form_shows_a_refused_file(admin_client):
    upload = SimpleUploadedFile("list.csv", b"\xff\xfe\x00a", content_type="text/csv")
    response = admin_client.post(URL + "import/", {"file": upload})
    assert response.status_code == 400
    assert "save it as CSV UTF-8" in response.content.decode()


def test_the_command_adds_lists_and_removes(capsys):
    call_command("suppressions", "add", "Ann@Example.net", "--note", "by hand")
    call_command("suppressions", "add", "ann@example.net")
    out = capsys.readouterr().out
    assert "Suppressed Ann@example.net" in out and "was already suppressed (manual)" in out

    call_command("suppressions", "list", "--json")
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["address"] == "Ann@example.net" and entry["note"] == "by hand"
    assert entry["source"] == "command line"

    call_command("suppressions", "remove", "ann@example.net", "--note", "fixed", "--json")
    assert json.loads(capsys.readouterr().out) == {"removed": True, "address": "ann@example.net"}
    call_command("suppressions", "list")
    assert "No suppressed address." in capsys.readouterr().out
    with pytest.raises(CommandError, match="not on the suppression list"):
        call_command("suppressions", "remove", "ann@example.net")
    with pytest.raises(CommandError, match="not an email address"):
        call_command("suppressions", "add", "nobody")


def test_inviting_a_suppressed_address_sends_it_and_warns_the_administrator(admin_client):
    suppress("nora@example.com", "hard_bounce")

    response = admin_client.post(
        "/users/invite/",
        {"email": "nora@example.com", "name": "Nora", "role": "editor", "message": ""},
        follow=True,
    )

    page = response.content.decode()
    assert "went to an address on the suppression list" in page
    row = OutboxMessage.objects.get(kind="invite")
    assert row.status == "queued" and "nora@example.com" in row.notice
    detail = admin_client.get(f"/outbox/{row.pk}/").content.decode()
    assert 'id="message-notice"' in detail
