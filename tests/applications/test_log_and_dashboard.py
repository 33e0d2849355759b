"""The email log shows and filters by application; the dashboard counts mail from applications."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMessage

from postroom.applications import credentials
from postroom.delivery.enqueue import enqueue, enqueue_raw
from postroom.delivery.models import Kind

pytestmark = pytest.mark.django_db

RAW = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: Relayed hello\r\n\r\nHi\r\n"


@pytest.fixture
def mail():
    shop, _ = credentials.create_application("Shop", ["example.org"])
    blog, _ = credentials.create_application("Blog", ["example.org"])
    enqueue_raw(RAW, "a@example.org", ["b@example.net"], application=shop)
    enqueue(
        EmailMessage("By the API", "x", "a@example.org", ["c@example.net"]),
        kind=Kind.API,
        application=blog,
    )
    enqueue(EmailMessage("Postroom's own", "x", "a@example.org", ["d@example.net"]))
    return shop, blog


def test_the_log_names_each_messages_application(admin_client, mail):
    page = admin_client.get("/outbox/").content.decode()
    assert "Shop" in page and "Blog" in page and "Relayed (SMTP)" in page


def test_the_log_filters_by_application(admin_client, mail):
    shop, blog = mail
    page = admin_client.get(f"/outbox/?application={shop.pk}").content.decode()
    assert "Relayed hello" in page
    assert "By the API" not in page and "Postroom&#x27;s own" not in page
    page = admin_client.get(f"/outbox/?application={blog.pk}").content.decode()
    assert "By the API" in page and "Relayed hello" not in page


def test_an_unknown_application_is_left_out_with_a_note(admin_client, mail):
    page = admin_client.get("/outbox/?application=999999").content.decode()
    assert "Unknown application" in page
    assert "Relayed hello" in page and "By the API" in page


def test_without_applications_the_log_offers_no_such_filter(admin_client):
    assert 'name="application"' not in admin_client.get("/outbox/").content.decode()


def test_the_message_page_names_its_application(admin_client, mail):
    shop, _ = mail
    message = shop.messages.get()
    page = admin_client.get(f"/outbox/{message.pk}/").content.decode()
    assert "app_shop" in page


def test_the_dashboard_counts_mail_from_applications(admin_client, mail):
    page = admin_client.get("/").content.decode()
    stat = page.split('id="relayed"', 1)[1]
    assert '<div class="value">2</div>' in stat[:100]


def test_a_resent_copy_keeps_its_application(mail):
    from postroom.delivery.actions import resend

    shop, _ = mail
    (copy,) = resend(list(shop.messages.all()))
    assert copy.application_id == shop.pk and shop.messages.count() == 2
