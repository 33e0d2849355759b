"""The public form page: accessible markup, validation, success, embedding, fetch and CORS."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from formhelpers import add_field, old_token, post

from postroom.forms.models import Entry, Rejection

pytestmark = pytest.mark.django_db

GOOD = {"name": "Ann Smith", "email": "ann@example.net", "message": "Hello there"}


@pytest.fixture
def survey(contact_form):
    """The contact form with one field of every other kind."""
    add_field(contact_form, "number", "Age", "age", min_value="18", max_value="120")
    add_field(contact_form, "date", "Start date", "start", min_value="2025-01-01")
    add_field(
        contact_form,
        "single_choice",
        "Topic",
        "topic",
        choices="Sales\nSupport",
        required=True,
        help_text="Pick one",
    )
    add_field(
        contact_form, "multiple_choice", "Products", "products", choices="A\nB\nC", max_value="2"
    )
    add_field(contact_form, "checkbox", "I accept the terms", "terms", required=True)
    add_field(contact_form, "short_text", "Order code", "code", pattern="[A-Z]{2}[0-9]{4}")
    add_field(
        contact_form, "file", "Attachment", "attachment", allowed_types="pdf, txt", max_file_mb=1
    )
    add_field(contact_form, "hidden", "Campaign", "campaign", default_value="spring")
    return contact_form


def test_every_input_has_a_label_and_choices_are_grouped(client, survey):
    html = client.get("/f/contact-us/").content.decode()

    for alias in ("name", "email", "message", "age", "start", "code", "attachment"):
        assert f'<label for="f-{alias}">' in html
        assert f'id="f-{alias}"' in html
    assert '<label class="pr-option" for="f-terms"><input type="checkbox" id="f-terms"' in html
    topic = html.split('aria-describedby="f-topic-help">', 1)[1].split("</fieldset>", 1)[0]
    assert topic.lstrip().startswith("<legend>Topic")
    assert '<p class="pr-help" id="f-topic-help">Pick one</p>' in topic
    assert topic.count('type="radio"') == 2 and topic.count("<label") == 2
    assert "<legend>Products</legend>" in html
    assert 'type="email" id="f-email" name="email" value="" autocomplete="email" required' in html
    assert 'accept=".pdf,.txt"' in html and 'enctype="multipart/form-data"' in html
    assert '<input type="hidden" name="campaign" value="spring">' in html
    assert '<span class="pr-sr"> (required)</span>' in html
    trap = re.search(r'<div class="pr-trap" aria-hidden="true">.*?</div>', html).group(0)
    assert 'name="postroom_hp"' in trap and 'tabindex="-1"' in trap


def test_the_page_is_never_cached_because_it_carries_a_fresh_token(client, contact_form):
    response = client.get("/f/contact-us/")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert re.search(r'name="postroom_ts" value="[^"]+"', response.content.decode())


def test_errors_appear_next_to_their_fields_and_answers_are_kept(client, survey):
    response = post(
        client,
        survey,
        {**GOOD, "email": "not-an-address", "age": "12", "code": "ab12", "terms": ""},
    )
    html = response.content.decode()

    assert response.status_code == 400
    assert not Entry.objects.exists()
    assert 'aria-describedby="f-email-errors" aria-invalid="true"' in html
    assert (
        '<ul class="pr-errors" id="f-email-errors">'
        "<li>Enter an email address, e.g. name@example.com.</li></ul>" in html
    )
    assert "Enter 18 or more." in html
    assert "This answer is not in the expected format." in html
    assert 'aria-describedby="f-topic-help f-topic-errors"' in html
    assert 'value="Ann Smith"' in html and ">Hello there</textarea>" in html
    summary = html.split('id="pr-summary"', 1)[1].split("</div>", 1)[0]
    assert "Please correct 5 answers below" in summary
    assert '<a href="#f-email">Email</a>' in summary and '<a href="#f-topic-0">Topic</a>' in summary


def test_every_kind_is_validated_on_the_server(client, survey):
    survey.rate_limit = 0  # every try counts against the limit, corrected or not (test_spam)
    survey.save()

    def errors(**values):
        data = {**GOOD, "topic": "Sales", "terms": "yes", **values}
        response = post(client, survey, data, HTTP_ACCEPT="application/json")
        return response.json().get("errors", {})

    assert errors(age="abc") == {"age": ["Enter a number, e.g. 42 or 3.5."]}
    assert "Enter a shorter number." in errors(age="1e400")["age"]
    assert errors(age="NaN") == {"age": ["Enter a number, e.g. 42 or 3.5."]}
    assert errors(start="2024-12-31") == {"start": ["Choose 1 January 2025 or later."]}
    assert errors(start="31/12/2025") == {"start": ["Choose a date in the date box."]}
    assert "topic" in errors(topic="Marketing")
    assert errors(products=["A", "B", "C"]) == {"products": ["Choose at most 2."]}
    assert "products" in errors(products=["Z"])
    assert errors(terms="") == {"terms": ["Tick this box to go on."]}
    assert errors(code="AB12345") == {"code": ["This answer is not in the expected format."]}
    assert errors(message="x" * 10_001) == {
        "message": ["Use at most 10000 characters (this has 10001)."]
    }
    exe = SimpleUploadedFile("setup.exe", b"MZ...")
    assert errors(attachment=exe) == {
        "attachment": ["This type of file is not accepted. Allowed: pdf, txt."]
    }
    big = SimpleUploadedFile("big.pdf", b"%PDF" + b"0" * (1024 * 1024 + 1))
    assert errors(attachment=big) == {"attachment": ["This file is 1.0 MB; the limit is 1 MB."]}
    assert errors() == {}
    assert Entry.objects.count() == 1


def test_a_file_has_to_be_chosen_again_after_a_correction(client, survey):
    upload = SimpleUploadedFile("notes.txt", b"hello")
    html = post(
        client,
        survey,
        {**GOOD, "email": "", "topic": "Sales", "terms": "yes", "attachment": upload},
    ).content.decode()
    assert "Please choose the file again" in html


def test_success_shows_the_message_after_a_redirect(client, contact_form):
    response = post(client, contact_form, GOOD)
    assert response.status_code == 302
    assert response["Location"] == "/f/contact-us/thanks/"
    page = client.get(response["Location"]).content.decode()
    assert "Thank you. Your message was sent." in page


def test_success_can_redirect_to_the_sites_own_thank_you_page(client, contact_form):
    contact_form.redirect_url = "https://www.example.com/thanks"
    contact_form.save()
    response = post(client, contact_form, GOOD)
    assert (response.status_code, response["Location"]) == (302, "https://www.example.com/thanks")


def test_hidden_fields_take_their_value_from_the_page_address(client, survey):
    html = client.get("/f/contact-us/?campaign=newsletter%22%3E").content.decode()
    assert '<input type="hidden" name="campaign" value="newsletter&quot;&gt;">' in html


def test_a_closed_form_says_so_and_takes_nothing(client, contact_form):
    contact_form.is_open = False
    contact_form.save()
    assert "This form is closed" in client.get("/f/contact-us/").content.decode()
    response = post(client, contact_form, GOOD)
    assert response.status_code == 403
    assert not Entry.objects.exists()


def test_an_unknown_form_is_not_found(client, contact_form):
    assert client.get("/f/nothing-here/").status_code == 404


# Embedding on another site ------------------------------------------------------------------


def test_a_cross_site_post_needs_no_csrf_token(contact_form):
    browser = Client(enforce_csrf_checks=True)
    response = post(
        browser,
        contact_form,
        GOOD,
        HTTP_ORIGIN="https://www.example.com",
        HTTP_REFERER="https://www.example.com/contact",
    )
    assert response.status_code == 302
    assert Entry.objects.get().referrer == "https://www.example.com/contact"


def test_the_backoffice_still_requires_csrf_tokens(administrator, contact_form):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(administrator)
    assert browser.post(f"/forms/{contact_form.pk}/duplicate/").status_code == 403


def test_the_token_for_the_embed_script_is_fresh_and_readable_anywhere(client, contact_form):
    response = client.get("/f/contact-us/token/")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Content-Type"].startswith("text/plain")
    contact_form.min_fill_seconds = 0
    contact_form.save()
    assert post(client, contact_form, GOOD, token=response.content.decode()).status_code == 302


# fetch and CORS -----------------------------------------------------------------------------


def test_fetch_gets_json_with_errors_by_alias(client, contact_form):
    bad = post(client, contact_form, {**GOOD, "email": "nope"}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400
    assert bad.json()["ok"] is False
    assert bad.json()["errors"] == {"email": ["Enter an email address, e.g. name@example.com."]}

    good = post(client, contact_form, GOOD, HTTP_ACCEPT="application/json")
    assert good.status_code == 200
    assert good.json() == {
        "ok": True,
        "message": "Thank you. Your message was sent.",
        "redirect": None,
    }


def test_preflight_is_answered_only_for_listed_origins(client, contact_form):
    contact_form.allowed_origins = "https://www.example.com"
    contact_form.save()

    listed = client.options(
        "/f/contact-us/",
        HTTP_ORIGIN="https://www.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="accept",
    )
    assert listed.status_code == 204
    assert listed["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert "POST" in listed["Access-Control-Allow-Methods"]
    assert "Accept" in listed["Access-Control-Allow-Headers"]
    assert "Origin" in listed["Vary"]

    other = client.options(
        "/f/contact-us/",
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert other.status_code == 204
    assert "Access-Control-Allow-Origin" not in other
    assert "Access-Control-Allow-Methods" not in other


def test_only_listed_origins_may_read_the_answer_of_a_fetch(client, contact_form):
    contact_form.allowed_origins = "https://www.example.com"
    contact_form.save()

    listed = post(
        client,
        contact_form,
        GOOD,
        HTTP_ACCEPT="application/json",
        HTTP_ORIGIN="https://www.example.com",
    )
    assert listed.json()["ok"] is True
    assert listed["Access-Control-Allow-Origin"] == "https://www.example.com"

    other = post(
        client,
        contact_form,
        GOOD,
        HTTP_ACCEPT="application/json",
        HTTP_ORIGIN="https://evil.example",
    )
    assert other.status_code == 403
    assert "Access-Control-Allow-Origin" not in other
    assert Entry.objects.count() == 1
    assert Rejection.objects.get(reason="origin").count == 1


def test_the_hosted_page_itself_gets_no_cors_header(client, contact_form):
    response = post(client, contact_form, GOOD, HTTP_ORIGIN="http://testserver")
    assert response.status_code == 302
    assert "Access-Control-Allow-Origin" not in response


def test_other_methods_are_refused(client, contact_form):
    response = client.put("/f/contact-us/", data="x")
    assert response.status_code == 405
    assert old_token(contact_form)  # the form itself is fine
