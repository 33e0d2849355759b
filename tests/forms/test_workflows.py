"""On submit, each workflow queues an email in the same transaction as the entry."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from formhelpers import add_field, form_emails, html_part, parsed, post, text_part

from postroom.delivery import alerts, worker
from postroom.delivery.models import OutboxMessage
from postroom.delivery.policy import current_policy
from postroom.forms import uploads, workflows
from postroom.forms.models import Entry, Upload, Workflow, WorkflowRun
from sites import use_smtp_server

pytestmark = pytest.mark.django_db

GOOD = {"name": "Ann Smith", "email": "ann@example.net", "message": "Hello <there>"}


def configure_smtp(site, port: int = 25, **extra) -> None:
    use_smtp_server(site, port, sender="Website <site@example.org>", **extra)


def notify(form, **fields) -> Workflow:
    """Replace the form's workflows with one "Send email" workflow."""
    form.workflows.all().delete()
    defaults = {"name": "Notify", "to": "team@example.com", "subject": "New", "message": "Hi"}
    return Workflow.objects.create(form=form, **{**defaults, **fields})


def flashes(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# The notification ---------------------------------------------------------------------------


def test_the_default_workflow_emails_the_creator_with_every_answer(
    client, contact_form, isolated_site
):
    configure_smtp(isolated_site)
    post(client, contact_form, GOOD)

    [row] = form_emails()
    mail = parsed(row)
    assert row.kind == "form"
    assert (mail["From"], mail["To"], mail["Reply-To"]) == (
        "Website <site@example.org>",
        "admin@example.com",
        "ann@example.net",
    )
    assert mail["Subject"] == "New entry on Contact us"
    text = text_part(mail)
    assert "Name: Ann Smith\nEmail: ann@example.net\nMessage: Hello <there>" in text
    entry = Entry.objects.get()
    assert f"See the entry: http://testserver/forms/{contact_form.pk}/entries/{entry.pk}/" in text
    html = html_part(mail)
    assert "<th " in html and "Hello &lt;there&gt;" in html and "<there>" not in html


@pytest.mark.parametrize("host", ["testserver:6666", "evil.example"])
def test_a_visitor_s_host_header_never_reaches_a_link_in_the_notification(
    client, contact_form, isolated_site, settings, host
):
    # The notification goes to the site's owner, who trusts its links: a visitor who sends a
    # forged Host (an allowed name with another port, or any name where ALLOWED_HOSTS is "*")
    # must not be able to point them elsewhere.
    settings.ALLOWED_HOSTS = ["*"] if host == "evil.example" else ["testserver"]
    configure_smtp(isolated_site)
    post(client, contact_form, GOOD, HTTP_HOST=host)

    [row] = form_emails()
    text = text_part(parsed(row))
    entry = Entry.objects.get()
    assert host not in text
    assert f"See the entry: http://testserver/forms/{contact_form.pk}/entries/{entry.pk}/" in text


def test_with_a_base_url_the_notification_links_there(
    client, contact_form, isolated_site, monkeypatch
):
    monkeypatch.setenv("POSTROOM_BASE_URL", "https://cms.example.org/postroom/")
    configure_smtp(isolated_site)
    post(client, contact_form, GOOD)

    text = text_part(parsed(form_emails()[0]))
    entry = Entry.objects.get()
    path = f"/forms/{contact_form.pk}/entries/{entry.pk}/"
    assert f"See the entry: https://cms.example.org/postroom{path}" in text


def test_several_recipients_separated_by_semicolons_or_commas(client, contact_form):
    notify(
        contact_form,
        to="a@example.com; b@example.com",
        cc="c@example.com,d@example.com",
        bcc="e@example.com",
    )
    post(client, contact_form, GOOD)
    [row] = form_emails()
    mail = parsed(row)
    assert mail["To"] == "a@example.com, b@example.com"
    assert mail["Cc"] == "c@example.com, d@example.com"
    assert "Bcc" not in mail
    assert row.envelope_recipients == tuple(f"{x}@example.com" for x in "abcde")


def test_the_sender_defaults_to_the_smtp_from_and_can_be_set(client, contact_form, isolated_site):
    configure_smtp(isolated_site)
    notify(contact_form, sender="")
    post(client, contact_form, GOOD)
    notify(contact_form, sender="Sales <sales@example.org>")
    post(client, contact_form, GOOD)
    senders = [parsed(row)["From"] for row in form_emails()]
    assert senders == ["Website <site@example.org>", "Sales <sales@example.org>"]


def test_placeholders_fill_the_subject_and_message(client, contact_form):
    add_field(contact_form, "multiple_choice", "Products", "products", choices="Tea\nCoffee")
    notify(
        contact_form,
        subject="{name} asks about {products} ({form_name})",
        message="From {name} <{email}>:\n{message}\n\nSee you.",
    )
    post(client, contact_form, {**GOOD, "products": ["Tea", "Coffee"]})
    mail = parsed(form_emails()[0])
    assert mail["Subject"] == "Ann Smith asks about Tea, Coffee (Contact us)"
    text = text_part(mail)
    assert text.startswith("From Ann Smith <ann@example.net>:\nHello <there>\n\nSee you.")
    assert "From Ann Smith &lt;ann@example.net&gt;:<br>\nHello &lt;there&gt;" in html_part(mail)


def test_answers_cannot_add_header_lines_to_the_subject(client, contact_form):
    notify(contact_form, subject="From {name}")
    for name in ("Ann\r\nBcc: victim@example.org", "=?utf-8?q?Ann=0D=0ABcc:_victim@example.org?="):
        post(client, contact_form, {**GOOD, "name": name})
    plain, encoded = (parsed(row) for row in form_emails())
    assert plain["Subject"] == "From Ann Bcc: victim@example.org"
    assert encoded["Subject"].strip() == "From =\u200b?utf-8?q?Ann=0D=0ABcc:_victim@example.org?="
    for mail in (plain, encoded):
        assert "Bcc" not in mail and mail.get_all("Subject") == [mail["Subject"]]


def test_the_html_part_is_optional(client, contact_form):
    notify(contact_form, send_html=False)
    post(client, contact_form, GOOD)
    mail = parsed(form_emails()[0])
    assert mail.get_content_type() == "text/plain"
    assert html_part(mail) is None


# Reply-To -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply_to", "answers", "expected"),
    [
        ("{email}", {}, "ann@example.net"),
        ("help@example.com", {}, "help@example.com"),
        ("{name}", {}, None),  # a name is not an address
        ("{email}, {email}", {}, None),  # two addresses
        ("", {}, None),
    ],
)
def test_reply_to_is_used_only_when_it_is_one_valid_address(
    client, contact_form, reply_to, answers, expected
):
    notify(contact_form, reply_to=reply_to)
    post(client, contact_form, {**GOOD, **answers})
    mail = parsed(form_emails()[0])
    assert mail["Reply-To"] == expected
    run = WorkflowRun.objects.get()
    if expected is None and reply_to:
        assert run.note == "Reply-To left out: it was not one valid address."


def test_reply_to_from_an_optional_empty_field_is_left_out(client, contact_form):
    add_field(contact_form, "email", "Second address", "other")
    notify(contact_form, reply_to="{other}")
    post(client, contact_form, GOOD)
    assert parsed(form_emails()[0])["Reply-To"] is None


# Attachments --------------------------------------------------------------------------------


def test_uploads_are_attached(client, contact_form):
    add_field(contact_form, "file", "CV", "cv", allowed_types="pdf")
    notify(contact_form, message="{all_fields}")
    post(client, contact_form, {**GOOD, "cv": SimpleUploadedFile("My CV.pdf", b"%PDF-1.4 cv")})
    mail = parsed(form_emails()[0])
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "My CV.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == b"%PDF-1.4 cv"
    assert "CV: My CV.pdf" in text_part(mail)


def test_uploads_over_ten_megabytes_are_linked_not_attached(client, contact_form, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    add_field(contact_form, "file", "Photos", "photos", allowed_types="jpg", max_file_mb=8)
    add_field(contact_form, "file", "More", "more", allowed_types="jpg", max_file_mb=8)
    notify(contact_form)
    post(
        client,
        contact_form,
        {
            **GOOD,
            "photos": SimpleUploadedFile("a.jpg", b"a" * (6 * 1024 * 1024)),
            "more": SimpleUploadedFile("b.jpg", b"b" * (5 * 1024 * 1024)),
        },
    )
    mail = parsed(form_emails()[0])
    assert list(mail.iter_attachments()) == []
    text = text_part(mail)
    assert "The uploaded files (11.0 MB in all) are larger than the 10 MB" in text
    entry = Entry.objects.get()
    for upload in Upload.objects.all():
        url = f"http://testserver/forms/{contact_form.pk}/entries/{entry.pk}/files/{upload.pk}/"
        assert f"- {upload.original_name} ({upload.size // 1024 // 1024}.0 MB): {url}" in text
    assert "are larger than the 10 MB" in WorkflowRun.objects.get().note
    assert len(bytes(form_emails()[0].raw)) < 100_000


def test_attaching_can_be_turned_off(client, contact_form):
    add_field(contact_form, "file", "CV", "cv", allowed_types="pdf")
    notify(contact_form, attach_uploads=False)
    post(client, contact_form, {**GOOD, "cv": SimpleUploadedFile("cv.pdf", b"%PDF")})
    assert list(parsed(form_emails()[0]).iter_attachments()) == []


# Confirmation to the submitter --------------------------------------------------------------


def test_a_confirmation_goes_to_the_address_the_visitor_gave(client, contact_form):
    Workflow.objects.create(
        form=contact_form,
        kind="confirmation",
        name="Thanks",
        to_field="email",
        subject="Thanks, {name}",
        message="We got:\n{all_fields}",
        position=2,
    )
    post(client, contact_form, GOOD)
    notification, confirmation = (parsed(row) for row in form_emails())
    assert notification["To"] == "admin@example.com"
    assert confirmation["To"] == "ann@example.net"
    assert confirmation["Subject"] == "Thanks, Ann Smith"
    assert confirmation["Auto-Submitted"] == "auto-replied"
    assert "Message: Hello <there>" in text_part(confirmation)


def test_no_confirmation_without_an_address(client, contact_form):
    add_field(contact_form, "email", "Copy to", "copy_to")
    Workflow.objects.create(
        form=contact_form,
        kind="confirmation",
        name="Copy",
        to_field="copy_to",
        subject="S",
        message="M",
    )
    post(client, contact_form, GOOD)
    run = WorkflowRun.objects.get(name="Copy")
    assert (run.status, run.message) == ("error", None)
    assert run.note == "No valid address in the field {copy_to}."
    assert len(form_emails()) == 1


# Conditions ---------------------------------------------------------------------------------


def test_a_workflow_runs_only_when_its_condition_holds(client, contact_form):
    add_field(contact_form, "single_choice", "Topic", "topic", choices="Sales\nSupport")
    notify(contact_form, name="Sales", to="sales@example.com", condition_field="topic",
           condition_value="sales")  # fmt: skip
    Workflow.objects.create(
        form=contact_form, name="Urgent", to="boss@example.com", subject="!", message="!",
        condition_field="message", condition_operator="contains", condition_value="URGENT",
    )  # fmt: skip

    post(client, contact_form, {**GOOD, "topic": "Sales"})
    post(client, contact_form, {**GOOD, "topic": "Support", "message": "This is urgent!"})
    post(client, contact_form, {**GOOD, "topic": "Support"})

    assert [row.to for row in form_emails()] == ["sales@example.com", "boss@example.com"]
    skipped = WorkflowRun.objects.filter(status="skipped").order_by("id")
    assert [run.name for run in skipped] == ["Urgent", "Sales", "Sales", "Urgent"]
    assert skipped[0].note == "Not sent: the condition ({message} contains “URGENT”) was not met."


# One transaction ----------------------------------------------------------------------------


def test_the_entry_and_its_emails_are_saved_together_or_not_at_all(
    client, contact_form, monkeypatch
):
    add_field(contact_form, "file", "CV", "cv", allowed_types="pdf")
    real = workflows.run_workflows

    def queue_then_fail(entry, base_url=""):
        real(entry, base_url)
        assert form_emails()  # queued, inside the transaction
        raise RuntimeError("the database went away")

    monkeypatch.setattr(workflows, "run_workflows", queue_then_fail)
    with pytest.raises(RuntimeError):
        post(client, contact_form, {**GOOD, "cv": SimpleUploadedFile("cv.pdf", b"%PDF")})

    assert not Entry.objects.exists() and not OutboxMessage.objects.exists()
    assert uploads.storage().listdir("")[1] == []  # the written file was removed again


def test_a_workflow_that_cannot_be_built_keeps_the_entry(client, contact_form, monkeypatch):
    Workflow.objects.create(form=contact_form, name="Second", to="b@example.com", subject="S",
                            message="M", position=5)  # fmt: skip

    def broken(workflow, context):
        if workflow.name == "Second":
            raise ValueError("bug")
        return real(workflow, context)

    real = workflows.build_message
    monkeypatch.setattr(workflows, "build_message", broken)
    assert post(client, contact_form, GOOD).status_code == 302

    assert Entry.objects.count() == 1
    assert [row.to for row in form_emails()] == ["admin@example.com"]
    failed = WorkflowRun.objects.get(name="Second")
    assert (failed.status, failed.note) == ("error", "Could not build the email (ValueError).")


def test_without_workflows_entries_are_only_stored(client, admin_client, contact_form):
    workflow = contact_form.workflows.get()
    admin_client.post(f"/forms/{contact_form.pk}/workflows/{workflow.pk}/delete/")
    post(client, contact_form, GOOD)
    assert Entry.objects.count() == 1 and not form_emails()


# Status, failure, retry ---------------------------------------------------------------------


def test_each_entry_shows_its_emails_status_and_links_to_the_log(
    client, admin_client, contact_form, isolated_site, smtp_server
):
    server = smtp_server(data_reply="550 5.7.1 Message rejected as spam")
    configure_smtp(isolated_site, server.port)
    post(client, contact_form, GOOD)
    worker.run_once()
    row = form_emails()[0]
    row.refresh_from_db()
    assert row.status == "failed"

    entry = Entry.objects.get()
    page = admin_client.get(f"/forms/{contact_form.pk}/entries/{entry.pk}/").content.decode()
    runs = page.split('id="runs"', 1)[1].split("</table>", 1)[0]
    assert '<span class="badge badge-failed">Failed</span>' in runs
    assert f'<a href="/outbox/{row.pk}/">message #{row.pk}</a>' in runs
    assert "550 5.7.1 Message rejected as spam" in runs
    assert ">Retry now</button>" in runs
    listing = admin_client.get("/forms/").content.decode()
    assert '<span class="badge badge-err">1 failed</span>' in listing
    # The outbox alerts administrators about it, like any other failed email.
    assert alerts.current_problems(current_policy()).failed == 1


def test_retry_queues_a_failed_email_again_now(client, admin_client, contact_form):
    post(client, contact_form, GOOD)
    row = form_emails()[0]
    OutboxMessage.objects.filter(pk=row.pk).update(
        status="failed", failed_at=timezone.now(), attempt_count=3, last_reply="421 Busy"
    )
    run = WorkflowRun.objects.get()
    entry = run.entry

    response = admin_client.post(
        f"/forms/{contact_form.pk}/entries/{entry.pk}/runs/{run.pk}/retry/"
    )

    assert response["Location"] == f"/forms/{contact_form.pk}/entries/{entry.pk}/"
    row.refresh_from_db()
    assert row.status == "queued" and row.next_attempt_at <= timezone.now()
    assert flashes(response) == [f"{run.name}: Queued to be sent again now."]


def test_send_again_queues_a_copy_of_a_sent_email(client, admin_client, contact_form):
    post(client, contact_form, GOOD)
    original = form_emails()[0]
    OutboxMessage.objects.filter(pk=original.pk).update(status="sent", last_reply="250 Ok")
    run = WorkflowRun.objects.get()

    admin_client.post(f"/forms/{contact_form.pk}/entries/{run.entry_id}/runs/{run.pk}/retry/")

    run.refresh_from_db()
    copy = run.message
    assert copy.pk != original.pk and copy.status == "queued"
    assert copy.subject == original.subject and copy.message_id != original.message_id


def test_retry_builds_the_email_again_when_it_left_the_log(client, admin_client, contact_form):
    post(client, contact_form, GOOD)
    OutboxMessage.objects.all().delete()  # e.g. removed by the retention policy
    run = WorkflowRun.objects.get()
    assert run.message is None

    admin_client.post(f"/forms/{contact_form.pk}/entries/{run.entry_id}/runs/{run.pk}/retry/")

    run.refresh_from_db()
    assert run.message is not None and run.message.to == "admin@example.com"
    assert WorkflowRun.objects.count() == 1


# Editing workflows --------------------------------------------------------------------------


def test_a_workflow_is_checked_when_saved(admin_client, contact_form):
    workflow = contact_form.workflows.get()
    url = f"/forms/{contact_form.pk}/workflows/{workflow.pk}/"
    data = {
        "name": "Notify",
        "enabled": "on",
        "to": "sales@example.com; not an address",
        "sender": "nobody",
        "reply_to": "{mail}",
        "subject": "New {topic}",
        "message": "{all_fields}",
        "condition_field": "name",
        "condition_operator": "equals",
    }
    errors = admin_client.post(url, data).context["editor"].errors
    assert "“not an address” is not a valid email address" in errors["to"][0]
    assert errors["sender"][0].startswith("Enter one email address")
    assert "no field with the alias “mail”" in errors["reply_to"][0]
    assert "no field with the alias “topic”" in errors["subject"][0]
    assert errors["condition_value"] == ["Enter the value to compare with."]

    fixed = {**data, "to": "sales@example.com; help@example.com", "sender": "",
             "reply_to": "{email}", "subject": "New {name}", "condition_field": ""}  # fmt: skip
    assert admin_client.post(url, fixed).status_code == 302
    workflow.refresh_from_db()
    assert workflow.to == "sales@example.com, help@example.com"


def test_a_confirmation_is_added_for_the_forms_email_field(admin_client, contact_form):
    page = admin_client.get(f"/forms/{contact_form.pk}/workflows/new/?kind=confirmation")
    editor = page.context["editor"]
    assert "to" not in editor.fields and editor.initial["to_field"] == "email"
    response = admin_client.post(
        f"/forms/{contact_form.pk}/workflows/new/",
        {"kind": "confirmation", "name": "Thanks", "enabled": "on", "to_field": "email",
         "subject": "Thanks", "message": "{all_fields}", "send_html": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    assert contact_form.workflows.get(kind="confirmation").to_field == "email"
    listing = admin_client.get(f"/forms/{contact_form.pk}/workflows/").content.decode()
    assert "the address in <code>{email}</code>" in listing


def test_workflows_run_in_the_order_shown_and_can_be_reordered(client, admin_client, contact_form):
    first = contact_form.workflows.get()
    second = Workflow.objects.create(form=contact_form, name="Second", to="b@example.com",
                                     subject="Second", message="M", position=2)  # fmt: skip
    admin_client.post(f"/forms/{contact_form.pk}/workflows/{second.pk}/move/", {"direction": "up"})

    post(client, contact_form, GOOD)

    assert [row.subject for row in form_emails()] == ["Second", "New entry on Contact us"]
    page = admin_client.get(f"/forms/{contact_form.pk}/workflows/").content.decode()
    assert page.index("Run Second earlier") < page.index(f"Run {first.name} earlier")


def test_the_visitors_copy_of_all_fields_leaves_hidden_fields_out(client, contact_form):
    add_field(contact_form, "hidden", "Price list", "price_list", default_value="internal-B")
    Workflow.objects.create(
        form=contact_form, kind="confirmation", name="Thanks", to_field="email",
        subject="Thanks", message="We got:\n{all_fields}", send_html=True, position=2,
    )  # fmt: skip
    post(client, contact_form, {**GOOD, "price_list": "internal-B"})
    notification, confirmation = (parsed(row) for row in form_emails())
    assert "Message: Hello <there>" in text_part(confirmation)
    assert "internal-B" not in text_part(confirmation)
    assert "internal-B" not in html_part(confirmation)
    assert "Price list: internal-B" in text_part(notification)


def _edit_default(admin_client, form, to, name=None):
    workflow = form.workflows.get()
    data = {"name": name or workflow.name, "enabled": "on", "to": to, "reply_to": "{email}",
            "subject": workflow.subject, "message": workflow.message,
            "condition_operator": "equals"}  # fmt: skip
    response = admin_client.post(f"/forms/{form.pk}/workflows/{workflow.pk}/", data)
    assert response.status_code == 302
    workflow.refresh_from_db()
    return workflow


def test_a_default_workflow_is_renamed_when_its_recipients_change(admin_client, contact_form):
    assert contact_form.workflows.get().name == "Email admin@example.com"
    renamed = _edit_default(admin_client, contact_form, "sales@example.com")
    assert renamed.name == "Email sales@example.com"


def test_a_chosen_workflow_name_is_kept_when_recipients_change(admin_client, contact_form):
    contact_form.workflows.update(name="Sales team")
    assert _edit_default(admin_client, contact_form, "sales@example.com").name == "Sales team"
    chosen = _edit_default(admin_client, contact_form, "help@example.com", name="Help desk")
    assert chosen.name == "Help desk"
