"""Removing a field that workflows use: asked first, marked broken, never a raw {alias} sent."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from formhelpers import add_field, html_part, parsed, post, text_part

from postroom.forms.models import Entry, Workflow, WorkflowRun

pytestmark = pytest.mark.django_db

ANSWERS = {"name": "Ann Smith", "email": "ann@example.net", "message": "Hello", "phone": "+44 20"}


@pytest.fixture
def thanks(contact_form) -> Workflow:
    """The visitor's confirmation, greeting them by name and quoting their phone number."""
    add_field(contact_form, "text", "Phone", "phone")
    return Workflow.objects.create(
        form=contact_form,
        kind=Workflow.Kind.CONFIRMATION,
        name="Thanks to the visitor",
        to_field="email",
        subject="Thanks {name}",
        message="Thanks {name}, we will call you on {phone}.\n\n{all_fields}",
    )


def delete_url(form, alias: str) -> str:
    field = form.fields.get(alias=alias)
    return f"/forms/{form.pk}/fields/{field.pk}/delete/"


def test_removing_a_used_field_names_each_workflow_and_can_be_cancelled(
    admin_client, contact_form, thanks
):
    url = delete_url(contact_form, "name")
    build = admin_client.get(f"/forms/{contact_form.pk}/").content.decode()
    assert f'action="{url}">' in build  # no script confirm: the server's page asks instead

    asked = admin_client.post(url)  # the Remove button, not yet confirmed

    assert asked.status_code == 200
    page = asked.content.decode()
    assert "1 workflow uses <code>{name}</code>" in page
    assert "Thanks to the visitor" in page and "Cancel" in page
    assert contact_form.fields.filter(alias="name").exists()

    response = admin_client.post(url, {"confirmed": "yes"})

    assert not contact_form.fields.filter(alias="name").exists()
    assert response.status_code == 302 and response["Location"].endswith("/workflows/")
    [flash] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "{name} is now blank in “Thanks to the visitor”" in flash


def test_a_field_no_workflow_uses_is_removed_at_once(admin_client, contact_form, thanks):
    response = admin_client.post(delete_url(contact_form, "message"))
    assert response.status_code == 302
    assert not contact_form.fields.filter(alias="message").exists()


def test_the_workflows_list_marks_a_workflow_with_an_unknown_placeholder_broken(
    admin_client, contact_form, thanks
):
    listing = admin_client.get(f"/forms/{contact_form.pk}/workflows/").content.decode()
    assert "Broken" not in listing

    admin_client.post(delete_url(contact_form, "phone"), {"confirmed": "yes"})

    listing = admin_client.get(f"/forms/{contact_form.pk}/workflows/").content.decode()
    assert listing.count(">Broken</span>") == 1
    assert "uses {phone}, which no field has" in listing
    assert "1 workflow uses a field the form no longer has" in listing
    editor = admin_client.get(f"/forms/{contact_form.pk}/workflows/{thanks.pk}/").content.decode()
    assert "Broken: this workflow uses {phone}, which no field of the form has." in editor


def test_a_removed_confirmation_address_field_also_breaks_the_workflow(
    admin_client, contact_form, thanks
):
    admin_client.post(delete_url(contact_form, "email"), {"confirmed": "yes"})
    listing = admin_client.get(f"/forms/{contact_form.pk}/workflows/").content.decode()
    assert "uses {email}, which no field has" in listing  # Reply-To and the confirmation's To


def test_sending_leaves_an_unknown_placeholder_blank_and_the_entry_says_so(
    admin_client, client, contact_form, thanks
):
    admin_client.post(delete_url(contact_form, "phone"), {"confirmed": "yes"})
    post(client, contact_form, ANSWERS)

    run = WorkflowRun.objects.get(workflow=thanks)
    confirmation = parsed(run.message)
    assert confirmation["Subject"] == "Thanks Ann Smith"
    text, html = text_part(confirmation), html_part(confirmation)
    assert text.startswith("Thanks Ann Smith, we will call you on .")
    assert "{" not in text and "{phone}" not in html
    assert run.status == WorkflowRun.Status.QUEUED
    assert "Left blank: {phone}, which no field of the form has" in run.note
    entry = Entry.objects.get()
    page = admin_client.get(f"/forms/{contact_form.pk}/entries/{entry.pk}/").content.decode()
    assert "Left blank: {phone}" in page


def test_an_optional_field_left_empty_is_blank_without_a_warning(client, contact_form, thanks):
    post(client, contact_form, {**ANSWERS, "phone": ""})
    run = WorkflowRun.objects.get(workflow=thanks)
    assert text_part(parsed(run.message)).startswith("Thanks Ann Smith, we will call you on .")
    assert run.note == ""
