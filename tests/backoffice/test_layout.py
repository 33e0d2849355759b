"""One layout with navigation, and no dead links."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_navigation_reaches_dashboard_inbox_and_settings(admin_client):
    html = admin_client.get("/").content.decode()
    nav = html.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    labels = re.findall(r">([^<>]+)</a></li>", nav)
    assert labels[0] == "Dashboard"
    assert labels[-1] == "Settings"
    assert "Inbox" in labels


def test_the_current_page_is_marked_in_the_navigation(admin_client):
    html = admin_client.get("/settings/").content.decode()
    assert re.search(r'href="/settings/" aria-current="page">Settings<', html)


def test_no_dead_links_from_any_screen(admin_client):
    seen, todo = set(), ["/"]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        response = admin_client.get(url)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        if "text/html" not in response.get("Content-Type", ""):
            continue
        for link in re.findall(r'href="(/[^"#?]*)', response.content.decode()):
            if not link.startswith("/static/") and link not in seen:
                todo.append(link)
    assert {"/", "/inbox/", "/settings/"} <= seen


def test_static_files_are_served(admin_client):
    from django.test import Client

    response = Client().get("/static/postroom/postroom.css")
    assert response.status_code == 200


def test_editors_do_not_see_administrator_screens_in_the_navigation(client, editor):
    client.force_login(editor)
    html = client.get("/").content.decode()
    nav = html.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    assert ">Dashboard<" in nav
    assert ">Users<" not in nav
    assert ">Inbox<" not in nav
