"""A field's pattern is checked in time linear in the answer, whatever the form's author wrote."""

from __future__ import annotations

import time

import pytest
from formhelpers import add_field, post

from postroom.forms import patterns
from postroom.forms.models import Entry

pytestmark = pytest.mark.django_db

GOOD = {"name": "Ann", "email": "ann@example.net", "message": "Hello"}
EVIL_PATTERN = "([a-z]+)+"
EVIL_ANSWER = "a" * 400 + "!"  # a backtracking engine would take longer than the universe


def test_an_answer_must_match_the_whole_pattern(client, contact_form):
    add_field(contact_form, "short_text", "Order code", "code", pattern="[A-Z]{2}[0-9]{4}")

    wrong = post(client, contact_form, {**GOOD, "code": "AB12345"}, HTTP_ACCEPT="application/json")
    assert wrong.status_code == 400
    assert wrong.json()["errors"]["code"] == ["This answer is not in the expected format."]
    right = post(client, contact_form, {**GOOD, "code": "AB1234"}, HTTP_ACCEPT="application/json")
    assert right.status_code == 200
    assert Entry.objects.get().values["code"] == "AB1234"


def test_a_backtracking_pattern_answers_at_once(client, contact_form):
    add_field(contact_form, "short_text", "Word", "word", pattern=EVIL_PATTERN)

    started = time.perf_counter()
    response = post(client, contact_form, {**GOOD, "word": EVIL_ANSWER})
    elapsed = time.perf_counter() - started

    assert response.status_code == 400
    assert "This answer is not in the expected format." in response.content.decode()
    assert elapsed < 2.0
    assert not Entry.objects.exists()


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        (r"(a)\1", "a backreference such as \\1"),
        (r"(?=.*\d)[a-z0-9]+", "a lookahead or lookbehind"),
        (r"(?<!x)y", "a lookahead or lookbehind"),
        (r"(?>ab)c", "an atomic group"),
        (r"a++b", "a possessive quantifier"),
        (r"[0-9]{,3}", "{,3} (write {0,3})"),  # RE2 would take it for the text "{,3}"
    ],
)
def test_the_builder_refuses_what_cannot_run_in_linear_time(
    admin_client, contact_form, pattern, construct
):
    response = admin_client.post(
        f"/forms/{contact_form.pk}/fields/new/",
        {"kind": "short_text", "label": "Reference", "pattern": pattern},
    )

    assert response.status_code == 200
    [error] = response.context["editor"].errors["pattern"]
    assert error.startswith("The pattern of “Reference” cannot be used: it uses ")
    assert construct in error
    assert contact_form.fields.count() == 3


def test_a_pattern_saved_before_the_check_is_skipped_and_flagged(
    admin_client, client, contact_form
):
    field = add_field(contact_form, "short_text", "Reference", "reference", pattern=r"(x)\1")

    response = post(client, contact_form, {**GOOD, "reference": "anything"})
    assert response.status_code == 302  # taken, not refused for the author's mistake
    assert Entry.objects.get().values["reference"] == "anything"
    assert 'pattern="' not in client.get(f"/f/{contact_form.slug}/").content.decode()

    for page in (f"/forms/{contact_form.pk}/", f"/forms/{contact_form.pk}/fields/{field.pk}/"):
        html = admin_client.get(page).content.decode()
        assert "The pattern of “Reference” is not checked." in html
        assert "a backreference such as \\1" in html


@pytest.mark.parametrize(
    ("pattern", "browser"),
    [
        ("[A-Z]{2}[0-9]{4}", "[A-Z]{2}[0-9]{4}"),
        (r"\d{3}-\d{4}", r"\d{3}-\d{4}"),
        ("[a-z0-9_-]+", r"[a-z0-9_\-]+"),  # a bare - inside a class is an error in "v" mode
        ("(?:Mr|Ms)\\.? [A-Z][a-z]+", "(?:Mr|Ms)\\.? [A-Z][a-z]+"),
        ("[^<>]*", "[^<>]*"),
        ("(?i)abc", None),  # inline flags: JavaScript writes them differently
        ("(?P<year>\\d{4})", None),
        ("[[:alpha:]]+", None),
        ("a{,3}", None),  # literal braces in RE2, an error in the browser
        (r"\pL+", None),
        (r"\S+", None),  # the browser would refuse Unicode spaces that RE2 takes
        (r"a\sb", r"a\sb"),
        (r"(a)\1", None),  # not run at all
    ],
)
def test_the_browser_gets_the_pattern_only_where_it_means_the_same(pattern, browser):
    assert patterns.browser_pattern(pattern) == browser


def test_the_browser_pattern_is_on_the_public_page(client, contact_form):
    add_field(contact_form, "short_text", "Handle", "handle", pattern="[a-z0-9_-]+")
    html = client.get(f"/f/{contact_form.slug}/").content.decode()
    assert 'pattern="[a-z0-9_\\-]+"' in html
