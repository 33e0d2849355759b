"""Inviting a user: the email, the link, and what happens when the link is opened."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from postroom.accounts.models import Invitation, User
from postroom.delivery.models import OutboxMessage

from .conftest import NEW_PASSWORD, html_of, link_in, local, parsed, text_of

pytestmark = pytest.mark.django_db


def invite(admin, email="new@example.com", **fields):
    data = {"email": email, "name": "Nora New", "role": "editor", "message": "", **fields}
    return admin.post("/users/invite/", data)


def invitation_email(email="new@example.com") -> OutboxMessage:
    return OutboxMessage.objects.filter(kind="invite", to__contains=email).latest("id")


def accept(visitor, link, name="Nora New", password=NEW_PASSWORD):
    return visitor.post(
        local(link), {"name": name, "password": password, "password_again": password}
    )


def test_an_administrator_invites_someone_and_an_invitation_email_is_queued(admin_client):
    response = invite(admin_client, role="administrator", message="Welcome to the team.")
    assert response.status_code == 302
    assert response["Location"] == "/users/invitations/"
    row = invitation_email()
    assert row.kind == "invite"
    assert row.to == "new@example.com"
    assert row.subject == "You are invited to Postroom"
    text = text_of(row)
    assert "Ada (admin@example.com) invited you to Postroom as an Administrator" in text
    assert "Welcome to the team." in text
    assert "works for 72 hours" in text
    assert link_in(row, "/invite/").startswith("http://testserver/invite/")
    invitation = Invitation.objects.get()
    assert invitation.outbox == row
    assert not User.objects.filter(email="new@example.com").exists()


def test_only_a_digest_of_the_link_is_stored(admin_client):
    invite(admin_client)
    token = link_in(invitation_email(), "/invite/").rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    assert len(token) >= 43
    import hashlib

    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # Only the email itself carries the link: no other table holds the token in any form
    # someone reading the database could use (as written, URL-quoted, or its base64 bytes).
    from urllib.parse import quote

    from django.apps import apps

    from postroom.delivery.models import OutboxMessage

    forms_of_token = {token, quote(token, safe=""), token.encode().hex()}
    for model in apps.get_models():
        if model is OutboxMessage or not model._meta.managed:
            continue
        dumped = repr(list(model.objects.values()))
        assert not any(form in dumped for form in forms_of_token), model.__name__


def test_the_link_uses_postroom_base_url_when_set(admin_client, monkeypatch):
    monkeypatch.setenv("POSTROOM_BASE_URL", "https://cms.example.com/")
    invite(admin_client)
    assert link_in(invitation_email(), "/invite/").startswith("https://cms.example.com/invite/")


def test_opening_the_link_does_not_use_it_up(admin_client, visitor):
    invite(admin_client)
    link = link_in(invitation_email(), "/invite/")
    for _ in range(3):  # a link scanner, then a preview, then the person
        response = visitor.get(local(link))
        assert response.status_code == 200
        assert b"Activate my account" in response.content
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"
    assert Invitation.objects.get().status == "open"


def test_accepting_creates_an_active_account_with_the_invited_role(admin_client, visitor):
    invite(admin_client, role="editor")
    link = link_in(invitation_email(), "/invite/")
    response = accept(visitor, link, name="Nora Newcomer")
    assert response.status_code == 302
    assert response["Location"] == "/login/?email=new%40example.com"
    user = User.objects.get(email="new@example.com")
    assert user.is_active and user.role == "editor" and user.name == "Nora Newcomer"
    assert user.check_password(NEW_PASSWORD)
    assert user.password.startswith("argon2")
    login = visitor.get(response["Location"])
    assert b"Your account is ready" in login.content
    assert b'value="new@example.com"' in login.content
    assert visitor.login(username="new@example.com", password=NEW_PASSWORD)


def test_a_used_link_says_so_and_points_to_the_login_page(admin_client, visitor):
    invite(admin_client)
    link = link_in(invitation_email(), "/invite/")
    accept(visitor, link)
    again = visitor.get(local(link))
    assert again.status_code == 410
    assert b"This invitation was already used" in again.content
    assert b"Log in with your email address" in again.content
    assert accept(visitor, link, password="another-passphrase").status_code == 410
    assert User.objects.get(email="new@example.com").check_password(NEW_PASSWORD)


def test_the_password_rules_apply_and_nothing_is_used_up_by_a_mistake(admin_client, visitor):
    invite(admin_client)
    link = link_in(invitation_email(), "/invite/")
    short = accept(visitor, link, password="short")
    assert short.status_code == 200
    assert b"at least 10 characters" in short.content
    differ = visitor.post(
        local(link), {"password": "long-enough-one", "password_again": "long-enough-two"}
    )
    assert b"The two passwords differ" in differ.content
    assert Invitation.objects.get().status == "open"
    assert accept(visitor, link).status_code == 302


def test_resending_makes_a_fresh_link_and_the_old_one_stops_working(admin_client, visitor):
    invite(admin_client)
    first = Invitation.objects.get()
    old_link = link_in(invitation_email(), "/invite/")
    # The first email went out two days ago; the link has one day left.
    Invitation.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=2))
    OutboxMessage.objects.filter(pk=first.outbox_id).update(
        status="sent", sent_at=timezone.now() - timedelta(days=2)
    )

    response = admin_client.post(f"/users/invitations/{first.pk}/resend/")
    assert response.status_code == 302
    new = Invitation.objects.open().get()
    assert new.pk != first.pk
    new_link = link_in(invitation_email(), "/invite/")
    assert new_link != old_link

    old = visitor.get(local(old_link))
    assert old.status_code == 410
    assert b"A newer invitation replaced this one" in old.content
    assert b"most recent invitation email" in old.content
    # The new link has the whole 72 hours from now, not what was left of the old one.
    OutboxMessage.objects.filter(pk=new.outbox_id).update(status="sent", sent_at=timezone.now())
    new.refresh_from_db()
    from postroom.accounts.invitations import valid_until

    assert valid_until(new) > timezone.now() + timedelta(hours=71)
    assert visitor.get(local(new_link)).status_code == 200


def test_resending_cancels_the_old_email_if_it_was_not_sent_yet(admin_client):
    invite(admin_client)
    first = Invitation.objects.get()
    admin_client.post(f"/users/invitations/{first.pk}/resend/")
    first.refresh_from_db()
    assert first.status == "replaced"
    assert first.outbox.status == "cancelled"


def test_an_expired_link_explains_what_to_do(admin_client, visitor):
    invite(admin_client)
    invitation = Invitation.objects.get()
    link = link_in(invitation_email(), "/invite/")
    sent = timezone.now() - timedelta(hours=73)
    OutboxMessage.objects.filter(pk=invitation.outbox_id).update(status="sent", sent_at=sent)
    Invitation.objects.filter(pk=invitation.pk).update(created_at=sent)
    response = visitor.get(local(link))
    assert response.status_code == 410
    assert b"This invitation has expired" in response.content
    assert b"Ask Ada to send the invitation again" in response.content
    assert accept(visitor, link).status_code == 410
    assert not User.objects.filter(email="new@example.com").exists()


def test_a_held_invitation_does_not_expire_before_it_is_sent(admin_client, visitor):
    invite(admin_client)
    invitation = Invitation.objects.get()
    link = link_in(invitation_email(), "/invite/")
    # Queued four days ago (no SMTP then), delivered an hour ago.
    OutboxMessage.objects.filter(pk=invitation.outbox_id).update(
        status="sent", sent_at=timezone.now() - timedelta(hours=1)
    )
    Invitation.objects.filter(pk=invitation.pk).update(
        created_at=timezone.now() - timedelta(days=4)
    )
    assert visitor.get(local(link)).status_code == 200


def test_a_revoked_link_says_it_was_withdrawn(admin_client, visitor):
    invite(admin_client)
    invitation = Invitation.objects.get()
    link = link_in(invitation_email(), "/invite/")
    response = admin_client.post(f"/users/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
    assert invitation.outbox.status == "cancelled"
    page = visitor.get(local(link))
    assert page.status_code == 410
    assert b"This invitation was withdrawn" in page.content


def test_an_unknown_link_is_a_plain_not_found_page(visitor, administrator):
    response = visitor.get("/invite/not-a-real-token/")
    assert response.status_code == 404
    assert b"This invitation link is not valid" in response.content
    assert visitor.get("/invite/" + "x" * 500 + "/").status_code == 404


def test_an_address_with_an_account_cannot_be_invited(admin_client, editor):
    response = invite(admin_client, email="EDITOR@example.com")
    assert response.status_code == 200
    assert b"editor@example.com already has an active account" in response.content
    assert not Invitation.objects.exists()


def test_inviting_an_address_again_replaces_the_waiting_invitation(admin_client, visitor):
    invite(admin_client, role="editor")
    old_link = link_in(invitation_email(), "/invite/")
    response = invite(admin_client, role="administrator", replace="on")
    assert response.status_code == 302
    follow = admin_client.get(response["Location"])
    assert b"The earlier invitation to this address was replaced" in follow.content
    assert Invitation.objects.open().get().role == "administrator"
    assert visitor.get(local(old_link)).status_code == 410


def test_the_message_is_plain_text_and_every_value_is_escaped(admin_client, monkeypatch):
    monkeypatch.setenv("Postroom__SiteName", "Acme <b>Corp</b>")
    message = '<a href="https://evil.example">click</a> & <script>alert(1)</script>\nline two'
    invite(admin_client, name="<img src=x onerror=alert(1)>", message=message)
    row = invitation_email()
    html = html_of(row)
    assert "<script>" not in html and "<img src=x" not in html
    assert '<a href="https://evil.example">' not in html
    assert "&lt;a href=&quot;https://evil.example&quot;&gt;click&lt;/a&gt; &amp;" in html
    assert "line two" in html and "<br>" in html
    assert "Acme &lt;b&gt;Corp&lt;/b&gt;" in html
    text = text_of(row)
    assert message.splitlines()[0] in text  # plain text stays as typed
    assert parsed(row)["Subject"] == "You are invited to Acme <b>Corp</b>"


def test_a_name_with_line_breaks_cannot_add_headers(admin_client):
    response = admin_client.post(
        "/users/invite/",
        {"email": "new@example.com", "name": "Nora\r\nBcc: victim@example.com", "role": "editor"},
    )
    assert response.status_code == 302
    row = invitation_email()
    assert "victim@example.com" not in row.bcc
    assert parsed(row)["Bcc"] is None


def test_the_invitations_tab_lists_waiting_invitations_with_search(admin_client):
    invite(admin_client, email="first@example.com", name="First")
    invite(admin_client, email="second@example.com", name="Second")
    page = admin_client.get("/users/invitations/").content.decode()
    assert "first@example.com" in page and "second@example.com" in page
    assert "Resend" in page and "Revoke" in page
    found = admin_client.get("/users/invitations/?q=secon").content.decode()
    assert "second@example.com" in found and "first@example.com" not in found


def test_inviting_an_address_with_a_waiting_invitation_asks_first_and_keeps_its_words(
    admin_client,
):
    invite(admin_client, name="Nora New", message="Welcome to the team.")
    first = Invitation.objects.get()
    asked = invite(admin_client, name="", message="", role="administrator")
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "new@example.com already has a waiting invitation" in page
    assert "Replace the waiting invitation" in page
    assert Invitation.objects.open().get() == first  # nothing replaced yet
    form = asked.context["form"]
    assert form.initial["name"] == "Nora New"
    assert form.initial["message"] == "Welcome to the team."
    assert form.initial["replace"] is True

    sent = invite(admin_client, name="Nora New", message="Welcome to the team.",
                  role="administrator", replace="True")  # fmt: skip
    assert sent.status_code == 302
    new = Invitation.objects.open().get()
    assert (new.name, new.message, new.role) == (
        "Nora New",
        "Welcome to the team.",
        "administrator",
    )
