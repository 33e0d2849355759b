"""A page token carries one entry: a copied or replayed form is not a way to send a thousand."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from formhelpers import form_emails, old_token, post

from postroom.forms import spam
from postroom.forms.models import Entry, Rejection, UsedToken

pytestmark = pytest.mark.django_db

GOOD = {"name": "Ann", "email": "ann@example.net", "message": "Hello"}
REAL_TIME = time.time
PAGE_TOKEN = re.compile(r'name="postroom_ts" value="([^"]+)"')


def counts(form) -> dict[str, int]:
    return dict(Rejection.objects.filter(form=form).values_list("reason", "count"))


def test_a_token_carries_one_entry_and_a_second_send_gets_the_page_back(
    client, contact_form, monkeypatch
):
    token = old_token(contact_form)
    assert post(client, contact_form, GOOD, token=token).status_code == 302

    again = post(client, contact_form, {**GOOD, "name": "Ann again"}, token=token)
    html = again.content.decode()

    assert again.status_code == 400
    assert "This page has already been sent once." in html
    assert 'value="Ann again"' in html  # the answers are kept
    assert Entry.objects.count() == 1 and len(form_emails()) == 1
    assert counts(contact_form) == {"reused": 1}
    # The page shown again carries a new token, which starts afresh: it carries the second
    # entry only after the form's minimum fill time, like any new page view.
    fresh = PAGE_TOKEN.search(html).group(1)
    assert fresh != token
    assert post(client, contact_form, GOOD, token=fresh).status_code == 400  # too fast
    monkeypatch.setattr(spam.time, "time", lambda: REAL_TIME() + contact_form.min_fill_seconds)
    assert post(client, contact_form, GOOD, token=fresh).status_code == 302
    assert Entry.objects.count() == 2


def test_each_page_view_has_its_own_token(client, contact_form):
    contact_form.min_fill_seconds = 0
    contact_form.save()
    first, second = (
        PAGE_TOKEN.search(client.get("/f/contact-us/").content.decode()).group(1) for _ in "12"
    )
    assert first != second
    assert post(client, contact_form, GOOD, token=first).status_code == 302
    assert post(client, contact_form, GOOD, token=second).status_code == 302


def test_answers_sent_back_for_correction_do_not_use_the_token(client, contact_form):
    token = old_token(contact_form)
    wrong = post(client, contact_form, {**GOOD, "email": "not-an-address"}, token=token)
    assert wrong.status_code == 400
    assert PAGE_TOKEN.search(wrong.content.decode()).group(1) == token
    assert post(client, contact_form, GOOD, token=token).status_code == 302


def test_a_script_is_told_in_json_and_given_a_token_to_send_again(
    client, contact_form, monkeypatch
):
    token = old_token(contact_form)
    ok = post(client, contact_form, GOOD, token=token, HTTP_ACCEPT="application/json")
    assert ok.json()["ok"] is True

    again = post(client, contact_form, GOOD, token=token, HTTP_ACCEPT="application/json")
    assert again.status_code == 400
    answer = again.json()
    assert answer["errors"]["__all__"] == [spam.ALREADY_USED.message]
    # The token handed back is no shortcut: it waits the minimum fill time like a new page.
    early = post(client, contact_form, GOOD, token=answer["token"], HTTP_ACCEPT="application/json")
    assert early.status_code == 400 and "quicker than we expected" in str(early.json()["errors"])
    monkeypatch.setattr(spam.time, "time", lambda: REAL_TIME() + contact_form.min_fill_seconds)
    retry = post(client, contact_form, GOOD, token=answer["token"], HTTP_ACCEPT="application/json")
    assert retry.status_code == 200


def test_the_embed_scripts_token_is_single_use_too(client, contact_form):
    contact_form.min_fill_seconds = 0
    contact_form.save()
    token = client.get("/f/contact-us/token/").content.decode()
    assert post(client, contact_form, GOOD, token=token).status_code == 302
    assert post(client, contact_form, GOOD, token=token).status_code == 400


def test_used_tokens_are_kept_no_longer_than_the_token_lives(contact_form):
    past = time.time() - spam.TOKEN_MAX_AGE - 60
    assert spam.use_token(old_token(contact_form), now=past)
    assert spam.use_token(old_token(contact_form))
    assert spam.forget_used_tokens() == 1
    assert UsedToken.objects.get().expires_at > datetime.now(UTC) + timedelta(hours=23)


def test_an_idle_worker_forgets_expired_tokens(contact_form):
    from postroom.core import chores

    assert spam.use_token(old_token(contact_form), now=time.time() - spam.TOKEN_MAX_AGE - 60)
    assert spam.use_token(old_token(contact_form))
    chores.run_all(inline=True)  # what an idle worker does now and then
    assert UsedToken.objects.count() == 1


def test_the_table_of_used_tokens_holds_no_usable_token(client, contact_form):
    token = old_token(contact_form)
    post(client, contact_form, GOOD, token=token)
    [used] = UsedToken.objects.values_list("key", flat=True)
    assert token not in used and len(used) == 64


# Two parallel submissions with one token: tests/security/test_forms_backtracking.py, over HTTP
# against a real serve (SQLite or PostgreSQL).


def test_requests_without_a_good_token_count_against_the_rate_limit_and_skip_validation(
    client, contact_form, monkeypatch
):
    contact_form.rate_limit = 2
    contact_form.save()
    validations = []
    from django import forms as django_forms

    real_full_clean = django_forms.BaseForm.full_clean

    def counting(form):
        validations.append(form)
        return real_full_clean(form)

    monkeypatch.setattr(django_forms.BaseForm, "full_clean", counting)
    for _ in range(5):  # a robot with no token at all
        response = post(client, contact_form, GOOD, token="")
        assert response.status_code in (400, 429)
    # Past the limit nothing else is looked at: no token check, no validation.
    assert counts(contact_form) == {"no_token": 2, "rate_limited": 3}
    assert len(validations) == 2
