"""The Users screen: administrators list, search and manage users; rules keep someone in charge."""

from __future__ import annotations

import pytest
from django.test import Client

from postroom.accounts import manage
from postroom.accounts.models import User

pytestmark = pytest.mark.django_db


def make(email, role="editor", **fields):
    return User.objects.create_user(email, None, role=role, **fields)


def flash(client, response) -> str:
    return client.get(response["Location"]).content.decode()


def test_the_users_screen_lists_everyone_with_role_and_status(admin_client, editor):
    make("gone@example.com", is_active=False, name="Gone Person")
    page = admin_client.get("/users/").content.decode()
    assert "admin@example.com" in page and "(you)" in page
    assert "editor@example.com" in page
    assert "Gone Person" in page and "Disabled" in page
    assert "Invite a user" in page and "Preview emails" in page
    nav = page.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/users/" aria-current="page">Users<' in nav


def test_search_and_paging(admin_client):
    for number in range(60):
        make(f"person{number:02d}@example.com", name=f"Person {number:02d}")
    first = admin_client.get("/users/").content.decode()
    assert "1–50 of 61" in first and 'rel="next"' in first
    second = admin_client.get("/users/?page=2").content.decode()
    assert "51–61 of 61" in second
    found = admin_client.get("/users/?q=person 07").content.decode()
    assert "person07@example.com" in found and "person08@example.com" not in found
    none = admin_client.get("/users/?q=zzz").content.decode()
    assert "No user matches" in none
    assert admin_client.get("/users/?page=abc").status_code == 200


def test_change_a_role(admin_client, editor):
    response = admin_client.post(f"/users/{editor.pk}/role/", {"role": "administrator"})
    assert "editor@example.com is now administrator" in flash(admin_client, response)
    editor.refresh_from_db()
    assert editor.is_administrator
    bad = admin_client.post(f"/users/{editor.pk}/role/", {"role": "owner"})
    assert "Choose Administrator or Editor" in flash(admin_client, bad)


def test_disable_logs_the_user_out_and_enable_lets_them_back(admin_client, editor):
    session = Client()
    session.force_login(editor)
    response = admin_client.post(f"/users/{editor.pk}/disable/")
    assert "they are logged out and cannot log in" in flash(admin_client, response)
    assert session.get("/").status_code == 302
    assert not Client().login(username="editor@example.com", password="correct-horse-battery")
    admin_client.post(f"/users/{editor.pk}/enable/")
    assert Client().login(username="editor@example.com", password="correct-horse-battery")


def test_delete_asks_first_then_deletes(admin_client, editor):
    confirm = admin_client.get(f"/users/{editor.pk}/delete/")
    assert b"Delete editor@example.com?" in confirm.content
    assert User.objects.filter(pk=editor.pk).exists()
    response = admin_client.post(f"/users/{editor.pk}/delete/")
    assert response["Location"] == "/users/"
    assert not User.objects.filter(pk=editor.pk).exists()


@pytest.mark.parametrize(
    ("action", "data"),
    [("disable", {}), ("delete", {}), ("role", {"role": "editor"})],
)
def test_an_administrator_cannot_disable_delete_or_demote_themselves(
    admin_client, administrator, action, data
):
    make("other-admin@example.com", role="administrator")
    response = admin_client.post(f"/users/{administrator.pk}/{action}/", data)
    assert "your own account. Ask another administrator" in flash(admin_client, response)
    administrator.refresh_from_db()
    assert administrator.is_active and administrator.is_administrator


def test_the_own_page_explains_and_offers_no_self_harm(admin_client, administrator):
    page = admin_client.get(f"/users/{administrator.pk}/").content.decode()
    assert "This is your own account" in page
    assert "/disable/" not in page and "/role/" not in page


def test_the_last_active_administrator_stays_in_charge(administrator):
    # Another administrator, demoted a moment ago in another tab, acts with a stale page.
    stale = make("second@example.com", role="administrator")
    User.objects.filter(pk=stale.pk).update(role="editor")
    for attempt in (
        lambda: manage.disable(stale, administrator),
        lambda: manage.delete(stale, administrator),
        lambda: manage.change_role(stale, administrator, "editor"),
    ):
        with pytest.raises(manage.UserActionError, match="last active administrator"):
            attempt()
    administrator.refresh_from_db()
    assert administrator.is_active and administrator.is_administrator


def test_a_disabled_administrator_does_not_count_as_one_in_charge(administrator):
    other = make("second@example.com", role="administrator", is_active=False)
    with pytest.raises(manage.UserActionError, match="last active administrator"):
        manage.change_role(other, administrator, "editor")


def test_two_administrators_may_demote_each_other_only_once(administrator):
    other = make("second@example.com", role="administrator")
    assert manage.change_role(administrator, other, "editor")
    with pytest.raises(manage.UserActionError):
        manage.change_role(other, administrator, "editor")


def test_an_editor_sees_a_plain_403_page(client, editor):
    client.force_login(editor)
    response = client.get("/users/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Only administrators can manage users." in page
    assert "You are logged in as editor@example.com, with the role Editor" in page
    assert client.post(f"/users/{editor.pk}/role/", {"role": "administrator"}).status_code == 403
    editor.refresh_from_db()
    assert editor.role == "editor"


def test_anonymous_visitors_are_sent_to_log_in(client, editor):
    response = client.get("/users/invite/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/users/invite/"
