"""Robots and floods are turned away, counted, never stored and never emailed."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import RequestFactory
from formhelpers import form_emails, old_token, post

from postroom.core.models import RateCounter
from postroom.forms import spam
from postroom.forms.models import Entry, Rejection
from postroom.forms.views.public import form_page

pytestmark = pytest.mark.django_db

GOOD = {"name": "Ann", "email": "ann@example.net", "message": "Hello"}


def counts(form) -> dict[str, int]:
    return dict(Rejection.objects.filter(form=form).values_list("reason", "count"))


def nothing_kept() -> bool:
    return not Entry.objects.exists() and not form_emails()


def test_a_filled_honeypot_looks_like_success_but_keeps_nothing(client, contact_form):
    response = post(client, contact_form, {**GOOD, "postroom_hp": "http://spam.example"})
    assert (response.status_code, response["Location"]) == (302, "/f/contact-us/thanks/")
    assert nothing_kept()
    assert counts(contact_form) == {"honeypot": 1}


def test_a_submission_faster_than_a_person_is_sent_back_with_the_answers(client, contact_form):
    response = post(client, contact_form, GOOD, token=spam.issue_token(contact_form))
    html = response.content.decode()

    assert response.status_code == 400
    assert "That was quicker than we expected" in html
    assert 'value="Ann"' in html
    assert nothing_kept()
    assert counts(contact_form) == {"too_fast": 1}
    # The page carries a new start time; sent again later, it is accepted.
    token = html.split('name="postroom_ts" value="', 1)[1].split('"', 1)[0]
    later = time.time() + contact_form.min_fill_seconds + 1
    assert spam.check_token(contact_form, token, now=later) is None


def test_the_minimum_time_is_a_setting(client, contact_form):
    contact_form.min_fill_seconds = 30
    contact_form.save()
    assert post(client, contact_form, GOOD, token=old_token(contact_form, 20)).status_code == 400
    assert post(client, contact_form, GOOD, token=old_token(contact_form, 31)).status_code == 302


@pytest.mark.parametrize(
    "token",
    [
        "",
        "forged-token",
        "tampered",
        "expired",
        "other-form",
    ],
)
def test_a_missing_forged_or_stale_token_is_refused(client, contact_form, administrator, token):
    from postroom.forms import builder

    if token == "tampered":
        token = old_token(contact_form)[:-2] + "xx"
    elif token == "expired":
        token = spam.issue_token(contact_form, now=time.time() - 2 * spam.TOKEN_MAX_AGE)
    elif token == "other-form":
        token = old_token(builder.create_form("Other", administrator))
    response = post(client, contact_form, GOOD, token=token, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["errors"]["__all__"][0].startswith("This page")
    assert response.json()["token"]  # a fresh one, to send again with
    assert nothing_kept()
    assert counts(contact_form) == {"no_token": 1}


def test_an_address_may_send_ten_entries_per_ten_minutes(client, contact_form):
    for number in range(10):
        assert post(client, contact_form, {**GOOD, "name": f"Ann {number}"}).status_code == 302
    refused = post(client, contact_form, GOOD)

    assert refused.status_code == 429
    assert "this form takes at most 10 every 10 minutes" in refused.content.decode()
    assert Entry.objects.count() == 10 and len(form_emails()) == 10
    assert counts(contact_form) == {"rate_limited": 1}
    other = post(client, contact_form, GOOD, REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 302


def test_the_limit_is_checked_before_the_answers(client, contact_form):
    contact_form.rate_limit = 2
    contact_form.save()
    wrong = {**GOOD, "email": "not-an-address"}
    assert post(client, contact_form, wrong).status_code == 400
    assert post(client, contact_form, wrong).status_code == 400
    refused = post(client, contact_form, wrong, HTTP_ACCEPT="application/json")

    assert refused.status_code == 429
    assert list(refused.json()["errors"]) == ["__all__"]  # the answers were not looked at
    assert counts(contact_form) == {"rate_limited": 1}


def test_the_limit_is_per_form_and_counted_in_the_database(client, contact_form, administrator):
    from postroom.forms import builder

    other_form = builder.create_form("Other", administrator)
    contact_form.rate_limit = 1
    contact_form.save()
    assert post(client, contact_form, GOOD).status_code == 302
    assert post(client, other_form, GOOD).status_code == 302
    assert post(client, contact_form, GOOD).status_code == 429
    counts = sorted(RateCounter.objects.filter(scope=spam.RATE_SCOPE).values_list("count"))
    assert counts == [(1,), (2,)]  # one count per form
    keys = "".join(RateCounter.objects.values_list("key", flat=True))
    assert "127.0.0.1" not in keys  # the address is stored hashed


def test_a_new_window_starts_afresh(contact_form):
    contact_form.rate_limit = 2
    now = datetime(2025, 5, 1, 12, 0, 5, tzinfo=UTC)
    for _ in range(2):
        assert spam.take_rate_slot(contact_form, "198.51.100.1", now) is None
    assert spam.take_rate_slot(contact_form, "198.51.100.1", now).status == 429
    assert spam.take_rate_slot(contact_form, "198.51.100.1", now + timedelta(minutes=10)) is None


def test_old_rate_windows_are_forgotten(contact_form):
    from postroom.core import ratelimit

    old = datetime.now(UTC) - timedelta(days=2)
    spam.take_rate_slot(contact_form, "198.51.100.1", old)
    spam.take_rate_slot(contact_form, "198.51.100.2")
    assert ratelimit.forget_expired() == 1
    assert RateCounter.objects.count() == 1


def test_the_limit_can_be_turned_off(client, contact_form):
    contact_form.rate_limit = 0
    contact_form.save()
    for _ in range(12):
        assert post(client, contact_form, GOOD).status_code == 302
    assert not RateCounter.objects.exists()


class Unreadable(io.RawIOBase):
    def read(self, *args):  # noqa: ANN002, ANN201
        raise AssertionError("the body was read")

    readinto = read


def test_a_too_large_submission_is_refused_before_its_body_is_read(contact_form):
    request = RequestFactory().post(
        "/f/contact-us/", data=b"", content_type="multipart/form-data; boundary=x"
    )
    request.META["CONTENT_LENGTH"] = str(21 * 1024 * 1024)
    request.META["wsgi.input"] = Unreadable()
    request._stream = Unreadable()

    response = form_page(request, slug="contact-us")

    assert response.status_code == 413
    assert (
        "The submission is 21.0 MB; this form accepts at most 20 MB in all. "
        "Please send smaller or fewer files." in response.content.decode()
    )
    assert nothing_kept()
    assert counts(contact_form) == {"too_large": 1}


def test_the_size_limit_is_a_setting_and_fetch_gets_json(client, contact_form):
    contact_form.max_request_mb = 1
    contact_form.save()
    response = post(
        client, contact_form, {**GOOD, "message": "x" * 5000}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200  # small enough
    big = client.post(
        "/f/contact-us/",
        data=b"x" * (1024 * 1024 + 1),
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT="application/json",
    )
    assert big.status_code == 413
    assert big.json()["errors"]["__all__"][0].startswith("The submission is 1.0 MB")


def test_rejections_are_counted_on_the_forms_page(admin_client, client, contact_form):
    post(client, contact_form, {**GOOD, "postroom_hp": "x"})
    post(client, contact_form, {**GOOD, "postroom_hp": "y"})
    post(client, contact_form, GOOD, token="")

    page = admin_client.get(f"/forms/{contact_form.pk}/").content.decode()
    section = page.split('id="rejections"', 1)[1].split("</section>", 1)[0]
    assert "3 submissions rejected as spam or abuse: not stored, not emailed." in section
    assert "<td>Honeypot field filled in</td><td>2</td>" in section
    assert "<td>Missing or expired page token</td><td>1</td>" in section
