"""Building a form in the backoffice: fields, aliases, order, preview, list, copy and delete."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from formhelpers import add_field, post

from postroom.forms import builder
from postroom.forms.models import Entry, Field, Form, Workflow

pytestmark = pytest.mark.django_db


def flashes(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def aliases(form: Form) -> list[str]:
    return list(form.fields.order_by("position", "id").values_list("alias", flat=True))


# A new form ---------------------------------------------------------------------------------


def test_forms_sit_in_the_navigation_after_the_inbox(admin_client):
    html = admin_client.get("/forms/").content.decode()
    nav = html.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    labels = re.findall(r">([^<>]+)</a></li>", nav)
    assert labels.index("Forms") == labels.index("Inbox") + 1
    assert re.search(r'href="/forms/" aria-current="page">Forms<', html)


def test_a_new_form_is_a_contact_form_that_emails_its_creator(admin_client, administrator):
    response = admin_client.post("/forms/new/", {"name": "Contact us"})

    form = Form.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/forms/{form.pk}/"
    assert (form.slug, form.created_by) == ("contact-us", administrator)
    assert aliases(form) == ["name", "email", "message"]
    workflow = form.workflows.get()
    assert (workflow.kind, workflow.to, workflow.reply_to) == (
        "send_email",
        "admin@example.com",
        "{email}",
    )
    assert "{all_fields}" in workflow.message
    assert "emails each entry to admin@example.com" in flashes(response)[0]


def test_a_second_form_with_the_same_name_gets_its_own_address(admin_client):
    admin_client.post("/forms/new/", {"name": "Contact us"})
    admin_client.post("/forms/new/", {"name": "Contact us"})
    assert sorted(Form.objects.values_list("slug", flat=True)) == ["contact-us", "contact-us-2"]


def test_a_form_needs_a_name(admin_client):
    response = admin_client.post("/forms/new/", {"name": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Form.objects.exists()


def test_editors_manage_forms_and_visitors_must_log_in(client, editor, contact_form):
    assert client.get("/forms/").status_code == 302
    assert client.get("/forms/").url.startswith("/login/")
    client.force_login(editor)
    assert client.get("/forms/").status_code == 200
    assert client.get(f"/forms/{contact_form.pk}/entries/").status_code == 200
    response = client.post(
        f"/forms/{contact_form.pk}/fields/new/", {"kind": "number", "label": "Age"}
    )
    assert response.status_code == 302
    assert "age" in aliases(contact_form)


# Fields -------------------------------------------------------------------------------------


def test_an_alias_is_derived_from_the_label_and_kept_unique(admin_client, contact_form):
    url = f"/forms/{contact_form.pk}/fields/new/"
    admin_client.post(url, {"kind": "short_text", "label": "Phone number"})
    admin_client.post(url, {"kind": "short_text", "label": "Phone number"})
    response = admin_client.post(url, {"kind": "short_text", "label": "2nd address!"})

    assert aliases(contact_form)[-3:] == ["phone_number", "phone_number_2", "field_2nd_address"]
    assert flashes(response)[-1] == "Added “2nd address!”; use it in emails as {field_2nd_address}."


@pytest.mark.parametrize(
    ("alias", "error"),
    [
        ("Phone Number", "Use lower-case letters, digits and _ only"),
        ("9lives", "Use lower-case letters, digits and _ only"),
        ("all_fields", "“all_fields” is reserved by Postroom"),
        ("email", "Another field of this form already has the alias “email”"),
    ],
)
def test_a_bad_alias_is_refused_with_the_reason(admin_client, contact_form, alias, error):
    response = admin_client.post(
        f"/forms/{contact_form.pk}/fields/new/",
        {"kind": "short_text", "label": "Phone", "alias": alias},
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert contact_form.fields.count() == 3


@pytest.mark.parametrize(
    ("kind", "data", "field", "error"),
    [
        ("short_text", {"pattern": "[a-z"}, "pattern", "not a valid regular expression"),
        ("short_text", {"min_value": "10", "max_value": "5"}, "max_value", "smaller than"),
        ("short_text", {"max_value": "ten"}, "max_value", "whole number of characters"),
        ("number", {"min_value": "x"}, "min_value", "Enter a number"),
        ("date", {"max_value": "31/01/2025"}, "max_value", "YYYY-MM-DD"),
        ("single_choice", {"choices": "  \n "}, "choices", "Add at least one choice"),
        ("file", {"allowed_types": "pdf, .exe?"}, "allowed_types", "is not a file name extension"),
        ("file", {"max_file_mb": "500"}, "max_file_mb", "from 1 to 100 MB"),
    ],
)
def test_validation_settings_are_checked(admin_client, contact_form, kind, data, field, error):
    payload = {"kind": kind, "label": "Question", "max_file_mb": "5", **data}
    response = admin_client.post(f"/forms/{contact_form.pk}/fields/new/", payload)
    assert response.status_code == 200
    errors = response.context["editor"].errors
    assert field in errors and error in " ".join(errors[field])


def test_each_kind_offers_only_the_settings_that_apply(admin_client, contact_form):
    def names(kind: str) -> set[str]:
        response = admin_client.get(f"/forms/{contact_form.pk}/fields/new/?kind={kind}")
        return set(response.context["editor"].fields)

    assert names("file") == {
        "label",
        "alias",
        "required",
        "help_text",
        "allowed_types",
        "max_file_mb",
    }
    assert names("single_choice") == {"label", "alias", "required", "help_text", "choices"}
    assert names("hidden") == {"label", "alias", "default_value"}
    assert {"pattern", "min_value", "max_value"} <= names("short_text")


def test_fields_move_up_and_down_with_plain_buttons(admin_client, contact_form):
    message = contact_form.fields.get(alias="message")
    url = f"/forms/{contact_form.pk}/fields/{message.pk}/move/"

    response = admin_client.post(url, {"direction": "up"})
    assert response.status_code == 302
    assert response["Location"] == f"/forms/{contact_form.pk}/#field-{message.pk}"
    assert aliases(contact_form) == ["name", "message", "email"]
    admin_client.post(url, {"direction": "up"})
    admin_client.post(url, {"direction": "up"})  # already first: nothing changes
    assert aliases(contact_form) == ["message", "name", "email"]
    admin_client.post(url, {"direction": "down"})
    assert aliases(contact_form) == ["name", "message", "email"]

    page = admin_client.get(f"/forms/{contact_form.pk}/").content.decode()
    assert page.index("Move Name up") < page.index("Move Message up") < page.index("Move Email up")
    assert re.search(r'aria-label="Move Name up" disabled', page)


def test_renaming_an_alias_updates_the_workflows(admin_client, contact_form):
    email = contact_form.fields.get(alias="email")
    response = admin_client.post(
        f"/forms/{contact_form.pk}/fields/{email.pk}/",
        {"label": "Your email", "alias": "reply_address", "required": "on", "help_text": ""},
    )
    assert response.status_code == 302
    assert contact_form.workflows.get().reply_to == "{reply_address}"
    assert "{email} is now {reply_address} in 1 workflow(s)." in flashes(response)[0]


def test_removing_a_field_keeps_the_answers_entries_already_have(
    admin_client, client, contact_form
):
    post(client, contact_form, {"name": "Ann", "email": "ann@example.net", "message": "Hello"})
    message = contact_form.fields.get(alias="message")

    admin_client.post(f"/forms/{contact_form.pk}/fields/{message.pk}/delete/")

    assert aliases(contact_form) == ["name", "email"]
    entry = Entry.objects.get()
    assert entry.values["message"] == "Hello"
    page = admin_client.get(f"/forms/{contact_form.pk}/entries/{entry.pk}/").content.decode()
    assert "(removed field)" in page and "Hello" in page


# Preview ------------------------------------------------------------------------------------


def test_the_preview_is_the_public_form_and_cannot_be_sent(admin_client, contact_form):
    page = admin_client.get(f"/forms/{contact_form.pk}/").content.decode()
    assert f'<iframe id="preview" data-fit-content src="/forms/{contact_form.pk}/preview/"' in page

    preview = admin_client.get(f"/forms/{contact_form.pk}/preview/")
    html = preview.content.decode()
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    assert '<label for="f-email">Email' in html
    assert "Nothing is sent from here." in html
    assert 'disabled title="Preview only"' in html


def test_the_preview_shows_unsaved_changes_to_a_field(admin_client, contact_form):
    name = contact_form.fields.get(alias="name")
    response = admin_client.post(
        f"/forms/{contact_form.pk}/preview/",
        {"field_id": name.pk, "label": "Full name", "alias": "name", "help_text": "As on your ID"},
    )
    html = response.content.decode()
    assert '<label for="f-name">Full name' in html
    assert '<p class="pr-help" id="f-name-help">As on your ID</p>' in html
    assert contact_form.fields.get(alias="name").label == "Name"  # nothing saved

    added = admin_client.post(
        f"/forms/{contact_form.pk}/preview/",
        {"kind": "single_choice", "label": "Topic", "choices": "Sales\nSupport"},
    ).content.decode()
    assert "<legend>Topic" in added and 'value="Support"' in added


# The list -----------------------------------------------------------------------------------


def test_the_list_searches_and_pages(admin_client, administrator):
    for number in range(30):
        Form.objects.create(name=f"Form {number:02d}", slug=f"form-{number:02d}")
    builder.create_form("Zebra sign-up", administrator)

    first = admin_client.get("/forms/")
    assert len(first.context["page"]) == 25
    assert "1–25 of 31" in first.content.decode()
    second = admin_client.get("/forms/?page=2").content.decode()
    assert "Zebra sign-up" in second and "26–31 of 31" in second

    found = admin_client.get("/forms/?q=zebra")
    assert [f.name for f in found.context["page"]] == ["Zebra sign-up"]
    none = admin_client.get("/forms/?q=nothing-like-this").content.decode()
    assert "No form matches “nothing-like-this”" in none


def test_the_empty_list_says_how_to_start(admin_client):
    page = admin_client.get("/forms/").content.decode()
    assert "No form yet." in page and 'href="/forms/new/"' in page


def test_duplicate_copies_fields_and_workflows_but_not_entries(admin_client, client, contact_form):
    add_field(contact_form, "single_choice", "Topic", "topic", choices="Sales\nSupport")
    post(client, contact_form, {"name": "Ann", "email": "ann@example.net", "message": "Hi"})

    response = admin_client.post(f"/forms/{contact_form.pk}/duplicate/")

    copy = Form.objects.exclude(pk=contact_form.pk).get()
    assert response["Location"] == f"/forms/{copy.pk}/"
    assert (copy.name, copy.slug) == ("Copy of Contact us", "contact-us-copy")
    assert aliases(copy) == aliases(contact_form)
    assert copy.fields.get(alias="topic").choice_list == ["Sales", "Support"]
    assert copy.workflows.get().to == "admin@example.com"
    assert copy.entries.count() == 0 and contact_form.entries.count() == 1


def test_delete_asks_first_then_removes_the_form_and_its_entries(
    admin_client, client, contact_form
):
    post(client, contact_form, {"name": "Ann", "email": "ann@example.net", "message": "Hi"})

    confirm = admin_client.get(f"/forms/{contact_form.pk}/delete/").content.decode()
    assert "its 1 entry and their uploaded files" in confirm
    response = admin_client.post(f"/forms/{contact_form.pk}/delete/")

    assert response["Location"] == "/forms/"
    assert not Form.objects.exists() and not Entry.objects.exists()
    assert not Field.objects.exists() and not Workflow.objects.exists()


# Settings and embedding ---------------------------------------------------------------------


def test_settings_check_the_allowed_origins(admin_client, contact_form):
    data = {
        "name": "Contact us",
        "slug": "contact",
        "submit_label": "Send",
        "success_message": "Thanks!",
        "min_fill_seconds": "3",
        "rate_limit": "10",
        "rate_window_minutes": "10",
        "max_request_mb": "20",
    }
    bad = admin_client.post(
        f"/forms/{contact_form.pk}/settings/",
        {**data, "allowed_origins": "https://www.example.com/contact"},
    )
    assert "is not an origin" in bad.content.decode()

    good = admin_client.post(
        f"/forms/{contact_form.pk}/settings/",
        {**data, "allowed_origins": "https://www.example.com/\n\nhttp://localhost:3000"},
    )
    assert good.status_code == 302
    contact_form.refresh_from_db()
    assert contact_form.origins == ["https://www.example.com", "http://localhost:3000"]
    assert contact_form.slug == "contact"


def test_the_embed_snippet_posts_to_the_public_address_without_a_csrf_token(
    admin_client, contact_form
):
    add_field(contact_form, "file", "CV", "cv")
    response = admin_client.get(f"/forms/{contact_form.pk}/embed/")
    snippet = response.context["snippet"]

    assert 'action="http://testserver/f/contact-us/"' in snippet
    assert 'enctype="multipart/form-data"' in snippet
    assert 'name="postroom_hp"' in snippet and 'name="postroom_ts"' in snippet
    assert 'fetch("http://testserver/f/contact-us/token/")' in snippet
    assert "csrfmiddlewaretoken" not in snippet
    assert '<label for="f-email">Email' in snippet
