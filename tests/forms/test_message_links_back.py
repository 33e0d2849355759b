"""A form's email in the log links back to the entry that produced it."""

import pytest
from formhelpers import post

from postroom.delivery.models import OutboxMessage
from postroom.forms.models import Entry

pytestmark = pytest.mark.django_db


def test_the_message_detail_links_to_its_form_entry(client, admin_client, contact_form):
    post(client, contact_form, {"name": "Ann", "email": "ann@example.net", "message": "Hi"})
    entry = Entry.objects.get()
    message = OutboxMessage.objects.get(kind="form")
    html = admin_client.get(f"/outbox/{message.pk}/").content.decode()
    link = f'href="/forms/{contact_form.pk}/entries/{entry.pk}/" id="message-source"'
    assert link in html
    assert f"Entry #{entry.pk} on Contact us" in html


def test_other_messages_have_no_source_link(admin_client):
    from django.core.mail import EmailMessage

    from postroom.delivery.enqueue import enqueue

    queued = enqueue(EmailMessage("Hello", "Body", to=["a@example.net"]))
    assert 'id="message-source"' not in admin_client.get(f"/outbox/{queued.pk}/").content.decode()
